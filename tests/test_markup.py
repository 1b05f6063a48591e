from bot.core.markup import authored, code, escape, to_html, to_plain
from bot.core.reply import Button, Reply
from bot.platforms.console import render as console_render
from bot.platforms.discord import render as discord_render
from bot.platforms.matrix import render as matrix_render


def test_markup_to_html_and_plain() -> None:
    text = "**Hi** `x<y` see [docs](https://example.org/a?b=1&c=2)\nnext"
    assert to_html(text) == (
        "<strong>Hi</strong> <code>x&lt;y</code> see "
        '<a href="https://example.org/a?b=1&amp;c=2">docs</a><br>\nnext'
    )
    assert to_plain(text) == "Hi x<y see docs (https://example.org/a?b=1&c=2)\nnext"


def test_escaped_user_text_stays_literal() -> None:
    hostile = "**bold** [x](https://evil.example) <script>alert(1)</script> @room"
    safe = escape(hostile)
    assert to_plain(safe) == hostile
    html = to_html(safe)
    assert "<script>" not in html and "<a " not in html and "<strong>" not in html
    assert code("a`b") == "`a'b`"


def test_matrix_render_is_a_notice_without_mentions() -> None:
    content = matrix_render(Reply("@room hi", buttons=[Button("Claim", "mentor claim 3")]), "!")
    assert content["msgtype"] == "m.notice"
    assert content["m.mentions"] == {}
    assert "[Claim] type: !mentor claim 3" in content["body"]


def test_discord_render_never_pings_and_uses_embeds_for_titles() -> None:
    plain = discord_render(Reply("@everyone hello"))
    assert plain["content"] == "@everyone hello"
    mentions = plain["allowed_mentions"]
    assert not mentions.everyone and not mentions.users and not mentions.roles
    titled = discord_render(Reply("body", title="Title", fields=[("a", "b")], error=True))
    assert titled["embed"].title == "Title" and titled["embed"].fields[0].name == "a"
    long = discord_render(Reply("x" * 3000))
    assert len(long["embed"].description) == 3000


def test_console_render_is_plain() -> None:
    assert console_render(Reply("**a**", title="T"), "!") == "T\na"


def test_escaped_text_inside_bold_stays_literal() -> None:
    """Found by the fuzzer: a title `*zq*`, bolded by `event list`, split the bold span at its
    escaped asterisk and left a stray `*` on Matrix."""
    assert to_html("**" + escape("*zq*") + "**") == "<strong>*zq*</strong>"
    assert to_html("**" + escape("a**b") + "** c **d**") == (
        "<strong>a**b</strong> c <strong>d</strong>"
    )


def test_escaped_mass_mentions_do_not_ping_on_discord() -> None:
    """A refusal that quotes `@everyone` shows it with an escaped `@`, which Discord does not
    read as a mention; every rendering still shows the text as typed."""
    safe = escape("@everyone @here")
    assert "@everyone" not in safe.replace("\\@", "")
    assert to_plain(safe) == "@everyone @here"


def test_authored_links_show_their_address() -> None:
    """Found by the fuzzer: an FAQ answer's `[label](url)` hid where it led."""
    answer = "See [the docs](https://evil.example/x), <https://docs.example/y> and **this**."
    assert authored(answer) == (
        "See the docs (<https://evil.example/x>), <https://docs.example/y> and **this**."
    )
    assert authored("[https://a.example](https://a.example)") == "<https://a.example>"
    # Found by the long fuzz run: `__zq__` in an answer was underlined on Discord only.
    assert authored("__zq__ *x* ~~s~~\n# H\n- item") == (
        "\\_\\_zq\\_\\_ \\*x\\* \\~\\~s\\~\\~\n\\# H\n- item"
    )


def test_titles_are_plain_text_on_every_platform() -> None:
    """Found by the fuzzer: an event or FAQ title was markup in the reply's title."""
    reply = Reply("body", title="#1 *zq* [x](https://evil.example)")
    assert discord_render(reply)["embed"].title == "#1 \\*zq\\* [x](https://evil.example)"
    html = matrix_render(reply, "!")["formatted_body"]
    assert "<a " not in html and "<em>" not in html
    assert html.startswith("<strong>#1 *zq* [x](https://evil.example)</strong>")
