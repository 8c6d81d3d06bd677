"""The pages people use in the browser: the inbox, the case, the studio and the live book."""
