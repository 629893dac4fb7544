//! tis-auth (to be written).
