-- One nullable column of each type a NULL can be bound as (tis_store::SqlType).
CREATE TABLE typed (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    b BOOLEAN,
    i INTEGER,
    f REAL,
    t TEXT,
    d DATE,
    ts TEXT,
    u TEXT,
    j TEXT
);
