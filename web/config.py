"""Settings of the web console for counsellors and admins."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class WebSettings(BaseModel):
    """Where the console listens and how long a sign-in lasts; unknown keys are typos and rejected."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    listen: str = "127.0.0.1"
    port: int = Field(9110, ge=1, le=65535)
    # Send the session cookie over HTTPS only. Browsers accept it over plain HTTP from 127.0.0.1 and localhost;
    # behind a reverse proxy keep it on and serve the console over HTTPS.
    secure_cookies: bool = True
    session_hours: float = Field(8, gt=0, le=24 * 30)
    # Failed sign-ins allowed per account name, and per address, within the window; then sign-in waits.
    sign_in_attempts: int = Field(5, ge=1)
    sign_in_window_minutes: float = Field(15, gt=0)
    # Uploaded college lists wait here between the import preview and applying it.
    uploads_path: Path = Path("var/console-uploads")
    max_upload_mb: float = Field(5, gt=0, le=100)
    # Most questions one batch run answers.
    max_batch: int = Field(200, ge=1, le=5000)
