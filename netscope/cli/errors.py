"""User-facing errors: one line saying what is wrong and what to do, exit status 2."""


class UserError(Exception):
    """Raised for anything the user can fix; printed as one line, exit 2, no traceback."""

    exit_code = 2
