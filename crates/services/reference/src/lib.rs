//! tis-reference (to be written).
