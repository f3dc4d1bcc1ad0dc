"""The admin API: browse recorded exchanges and operate the proxy, behind the admin key."""
