//! tis-testkit (to be written).
