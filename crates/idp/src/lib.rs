//! tis-idp (to be written).
