//! tis-gateway (to be written).
