//! tis-store (to be written).
