"""The headrace server: a thin HTTP layer over the Store, with accounts and tokens."""
