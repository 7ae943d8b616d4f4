#!/bin/sh
# The layer rule (scripts/check-layers.sh): includes point down, curses only
# in ui/screen.c, no I/O in the model.
here=$(cd "$(dirname "$0")/.." && pwd)
exec sh "$here/scripts/check-layers.sh" "$here"
