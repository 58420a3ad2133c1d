from tests.bot.test_gaps_cli import *  # noqa
def test_show(cli_settings, redis_client):
    _seed(redis_client)
    r = CliRunner().invoke(cli_app, ["kb", "gaps", "--write"])
    print(r.stdout); print(r.stderr)
    r = CliRunner().invoke(cli_app, ["kb", "gaps", "--help"])
    print(r.stdout)
