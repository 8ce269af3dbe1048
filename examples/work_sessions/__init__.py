"""Work sessions for human users, kept in sqlite (see `store`)."""
