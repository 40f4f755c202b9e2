"""Explain what awslab does with AWS as AWS CLI commands: `cli_form` turns one SDK call into the
equivalent `aws ...` command, `hook` records every call a target's clients make (for
`--explain`), `script` turns the calls of an `up` into a runnable bash script (`awslab explain`)."""
