//! tis-profile (to be written).
