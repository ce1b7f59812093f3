import pytest

from os1.memory import intents


@pytest.mark.parametrize(
    "text",
    [
        "What do you know about me?",
        "what do you remember about me",
        "What have you learned about me?",
    ],
)
def test_asks_what_you_know(text: str) -> None:
    assert intents.asks_what_you_know(text)


@pytest.mark.parametrize("text", ["What do you know about Paris?", "I know about you"])
def test_not_asking_what_you_know(text: str) -> None:
    assert not intents.asks_what_you_know(text)


@pytest.mark.parametrize(
    "text, target",
    [
        ("forget that", None),
        ("Please forget that.", None),
        ("forget what I just said", None),
        ("Forget that my sister is called Anna", "my sister is called Anna"),
        ("forget about my job", "my job"),
        ("can you forget the fact that I hate mornings?", "I hate mornings"),
    ],
)
def test_forget_requests(text: str, target: str | None) -> None:
    request = intents.forget_request(text)
    assert request is not None and request.target == target


@pytest.mark.parametrize("text", ["I never forget a face", "Don't forget the milk", "forgetful me"])
def test_not_forget_requests(text: str) -> None:
    assert intents.forget_request(text) is None


@pytest.mark.parametrize(
    "text, statement",
    [
        ("That's wrong, my sister is called Anna", "my sister is called Anna"),
        ("no, that is not right. I live in Boston", "I live in Boston"),
        ("Actually, I moved to LA in March", "I moved to LA in March"),
        ("That's wrong!", ""),
    ],
)
def test_corrections(text: str, statement: str) -> None:
    assert intents.correction(text) == statement


def test_not_a_correction() -> None:
    assert intents.correction("Something is wrong with my car") is None


@pytest.mark.parametrize(
    "text",
    [
        "What's my sister's name?",
        "Do you remember where I live?",
        "when did I move?",
        "Who is my boss?",
    ],
)
def test_memory_questions(text: str) -> None:
    assert intents.memory_question(text)


def test_not_memory_question() -> None:
    assert not intents.memory_question("What's the weather like?")
