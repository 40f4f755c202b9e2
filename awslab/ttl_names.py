"""The logical names of the four resources `up --ttl` adds to a lab (see awslab/ttl.py). Apart
from ttl.py, which loads the spec models, so that the light commands (`labs`) can tell the reaper
from the lab's own resources without them."""

from __future__ import annotations

ROLE, FUNCTION, INVOKE_ROLE, SCHEDULE = "reaper-role", "reaper", "reaper-invoke-role", "reaper-schedule"
LOGICALS = (ROLE, FUNCTION, INVOKE_ROLE, SCHEDULE)
