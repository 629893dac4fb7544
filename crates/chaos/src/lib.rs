//! tis-chaos (to be written).
