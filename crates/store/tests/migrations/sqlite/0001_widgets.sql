CREATE TABLE widget (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    label TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    weight REAL,
    made_on DATE,
    made_at TEXT,
    ref TEXT,
    extra TEXT
);
