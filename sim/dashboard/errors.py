"""The one error the dashboard raises for things a user can fix."""


class DashboardError(Exception):
    """A setting or set-up problem the user can fix (address, port, page files).

    The command line prints it as one line and exits with status 2.
    """
