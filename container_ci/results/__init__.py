"""Result model and the writers for subunit v2, JUnit XML and the JSON summary."""
