"""The persona: the offline names list, how she picks a name, her system prompt and greetings."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime

import pytest

from os1.persona import (
    DEEPER_QUESTION,
    Persona,
    Profile,
    choose_name,
    greeting,
    load_names,
    style_for,
    system_prompt,
)

NOW = datetime(2025, 3, 14, 9, 30)


def test_names_list_is_shipped_and_well_formed():
    names = load_names()
    assert 300 <= len(names) <= 420
    assert all(n.gender in ("f", "m", "n") for n in names)
    assert all(n.name and n.origin and n.meaning for n in names)
    assert sum(n.gender == "n" for n in names) >= 60
    assert len({n.name.casefold() for n in names}) == len(names), "duplicate names"
    assert "name" not in {n.name for n in names}, "header line was read as a name"
    samantha = next(n for n in names if n.name == "Samantha")
    assert (samantha.gender, samantha.meaning) == ("f", "listener")


def test_load_names_returns_a_fresh_list():
    first = load_names()
    first.clear()
    assert len(load_names()) >= 300


@pytest.mark.parametrize(
    ("voice", "allowed"), [("female", {"f", "n"}), ("male", {"m", "n"}), ("neutral", {"n"})]
)
def test_choose_name_filters_by_voice(voice, allowed):
    genders = {n.name: n.gender for n in load_names()}
    picked = {
        choose_name(Profile(voice=voice), rng=random.Random(seed)).name for seed in range(200)
    }
    assert {genders[name] for name in picked} <= allowed
    assert len(picked) > 5, "the rng should vary her choice"


def test_choose_name_is_deterministic_for_a_seed():
    a = choose_name(Profile(voice="female"), rng=random.Random(7))
    b = choose_name(Profile(voice="female"), rng=random.Random(7))
    assert a.name == b.name


def test_choose_name_never_picks_the_users_name():
    profile = Profile(voice="female")
    for seed in range(100):
        would_pick = choose_name(profile, rng=random.Random(seed)).name
        for call_me in (would_pick, would_pick.upper(), f"{would_pick} Twombly"):
            mine = Profile(call_me=call_me, voice="female")
            assert choose_name(mine, rng=random.Random(seed)).name != would_pick


def test_choose_name_respects_vetoes():
    profile = Profile(voice="neutral")
    vetoed: set[str] = set()
    for _ in range(10):
        name = choose_name(profile, rng=random.Random(3), exclude=vetoed).name
        assert name not in vetoed
        vetoed.add(name)
    assert len(vetoed) == 10


def test_choose_name_widens_when_every_suitable_name_is_vetoed():
    neutral = {n.name for n in load_names() if n.gender == "n"}
    choice = choose_name(Profile(voice="neutral"), rng=random.Random(0), exclude=neutral)
    assert choice.name not in neutral


def test_reason_reports_the_real_reading():
    choice = choose_name(Profile(voice="female"), rng=random.Random(1))
    total = len(load_names())
    assert choice.names_read == total
    assert 0 < choice.seconds < 5
    assert choice.reason.startswith(f"I read {total} names in ")
    stated = float(re.search(r"in ([0-9.]+) seconds", choice.reason).group(1))
    assert stated == pytest.approx(choice.seconds, rel=0.1, abs=1e-4)
    assert f"I like the sound of {choice.name}" in choice.reason
    assert f"'{choice.entry.meaning}'" in choice.reason


def test_help_with_gives_an_honest_nod():
    profile = Profile(voice="female", help_with="writing letters")
    nods = [choose_name(profile, rng=random.Random(s)) for s in range(50)]
    assert any("writing letters" in c.reason for c in nods)
    # The nod is only claimed when the meaning really fits.
    for c in nods:
        if "That felt right" in c.reason:
            assert any(
                w in c.entry.meaning
                for w in ("song", "poetry", "voice", "lyre", "listen", "hear", "messenger")
            )


def test_profile_and_persona_round_trip_through_json():
    profile = Profile(
        call_me="Theo",
        voice="female",
        social="anti-social",
        help_with="letters",
        deeper="x" * 20_000,
    )
    persona = Persona("Samantha", "I liked the sound of it.", "female", "quiet", "her")
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    assert Persona.from_dict(json.loads(json.dumps(persona.to_dict()))) == persona


def test_from_dict_tolerates_missing_and_unknown_values():
    profile = Profile.from_dict({"voice": "robot", "social": "party", "call_me": "  "})
    assert profile == Profile(voice="neutral", deeper_question=DEEPER_QUESTION)
    persona = Persona.from_dict({"style": "loud", "chosen_by": "someone"})
    assert (persona.name, persona.style, persona.chosen_by) == ("OS1", "balanced", "her")


def test_style_follows_the_social_answer():
    assert style_for("social") == "warm"
    assert style_for("anti-social") == "quiet"
    assert style_for(None) == "balanced"


def _persona(style="balanced"):
    return Persona("Samantha", "I read some names.", "female", style, "her")


def test_system_prompt_names_her_and_never_claims_to_be_human():
    profile = Profile(call_me="Theo", voice="female", help_with="writing letters.")
    prompt = system_prompt(_persona(), profile, now=NOW)
    assert "You are Samantha" in prompt
    assert "AI companion" in prompt
    assert "not human" in prompt and "no body" in prompt
    assert "never claim or pretend to be human" in prompt
    assert "don't know" in prompt
    assert "Ask before" in prompt
    assert "Theo" in prompt
    assert "writing letters." in prompt and "letters.." not in prompt
    assert "Friday 14 March 2025, 09:30" in prompt


def test_system_prompt_stays_small_even_with_long_answers():
    profile = Profile(
        call_me="T" * 500,
        help_with="everything " * 500,
        deeper="my mother " * 5_000,
        social="social",
    )
    prompt = system_prompt(_persona("warm"), profile, now=NOW)
    assert len(prompt.split()) <= 150
    assert len(prompt) <= 1_000
    assert "mother" not in prompt  # the deeper answer is kept in the profile, not the prompt


def test_system_prompt_tone_and_facts():
    quiet = system_prompt(_persona("quiet"), Profile(), now=NOW)
    warm = system_prompt(_persona("warm"), Profile(), now=NOW)
    assert "brief" in quiet and "talkative" in warm
    assert "don't know the user's name" in quiet
    with_facts = system_prompt(_persona(), Profile(), facts="Model: SmolLM2 135M.", now=NOW)
    assert with_facts.endswith("Model: SmolLM2 135M.")
    assert with_facts.startswith(quiet.split("\n")[0])


def test_greetings():
    profile = Profile(call_me="Theo")
    first = greeting(_persona(), profile, returning=False, now=NOW)
    assert "Samantha" in first and "Theo" in first and "AI companion" in first
    again = {
        greeting(_persona(), profile, returning=True, now=NOW.replace(day=d)) for d in range(1, 29)
    }
    assert all("Theo" in g for g in again)
    assert len(again) > 1, "variants should rotate"
    same_day = greeting(_persona(), profile, returning=True, now=NOW)
    assert same_day == greeting(_persona(), profile, returning=True, now=NOW)
    assert greeting(_persona(), Profile(), returning=True, now=NOW).endswith(".")
