//! tis-mesh (to be written).
