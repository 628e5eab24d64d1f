"""Calls sys.exit() at import, as a badly written script-style plugin might."""

import sys

sys.exit(3)
