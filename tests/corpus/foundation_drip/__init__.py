"""Foundation for Emails' drip template (a course notification), from foundation-emails."""

from __future__ import annotations

from emailkit import Email


class CourseAdded(Email):
    course: str
    sections: int
    minutes: int
    course_url: str
    settings_url: str
    unsubscribe_url: str

    @classmethod
    def previews(cls) -> dict[str, CourseAdded]:
        return {
            "default": cls(
                course="Responsive Emails",
                sections=15,
                minutes=567,
                course_url="https://kraken.example.com/courses/responsive",
                settings_url="https://kraken.example.com/settings",
                unsubscribe_url="https://kraken.example.com/unsubscribe",
            ),
            "edge": cls(
                course="<script>x</script> Écrire des e-mails « réactifs » " * 4,
                sections=0,
                minutes=0,
                course_url="https://kraken.example.com/c?a=1&b=2",
                settings_url="https://kraken.example.com/s",
                unsubscribe_url="https://kraken.example.com/u",
            ),
        }
