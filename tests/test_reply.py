from bot.core.reply import Attachment, Button, Reply, decode, encode


def test_a_reply_stored_comes_back_whole() -> None:
    """What the outbox stores of a message is what it sends: every field survives the row."""
    reply = Reply(
        "Claimed by **Marco**",
        title="#12 build fails",
        fields=[("When", "Tuesday")],
        buttons=[Button("Claim", "mentor claim 12", "success")],
        private=True,
        error=True,
        mentions=["@marco:example.org"],
        mention_roles=["mentors"],
        reply_to="$event",
        thread=True,
        attachment=Attachment("data.json", '{"a": 1}'),
    )
    assert decode(encode(reply)) == reply
    assert decode(encode(Reply("plain"))) == Reply("plain")
