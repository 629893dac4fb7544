//! tis-profile-client (to be written).
