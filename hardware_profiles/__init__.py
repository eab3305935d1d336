"""Hardware profiles: one TOML file per target (validated by ``snnc.compiler.hardware``)."""
from pathlib import Path

PROFILE_DIR = Path(__file__).resolve().parent


def profile_files() -> dict[str, Path]:
    """Bundled profile name -> TOML file."""
    return {p.stem: p for p in sorted(PROFILE_DIR.glob("*.toml"))}
