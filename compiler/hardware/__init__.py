"""Hardware targets: validated profiles (constants with sources and confidences) and core mapping."""
from snnc.compiler.hardware.profile import (
    DEFAULT_PROFILE, WHICH, Constant, Profile, list_profiles, load_profile, parse_profile, read_profile,
)

__all__ = ["DEFAULT_PROFILE", "WHICH", "Constant", "Profile", "list_profiles", "load_profile",
           "parse_profile", "read_profile"]
