CREATE TABLE entries (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL,
    written TEXT NOT NULL
);
