pytest_plugins = [
    "tests.support.store_fixtures",
    "tests.support.matrix_fixtures",
    "tests.support.discord_fixtures",
]
