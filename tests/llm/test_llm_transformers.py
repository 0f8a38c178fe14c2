"""The ``transformers`` generator with a tiny causal model built and saved inside the tests (no download).

The tokenizer is character-level (every character of the seed pages and the prompt),
with a small chat template; the model is a one-layer Llama.  Untrained, it writes
gibberish, which exercises loading, templates, streaming and the fallback; trained
for a few dozen steps to memorise two replies, it exercises the checks on real
generated text (slow).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from llm_helpers import SEEDS, passage_of

from rag.generate import ExtractiveGenerator
from rag.generators import build_generator, build_query_rewriter
from rag.llm.backend import BackendError
from rag.llm.generator import GroundedGenerator
from rag.llm.prompt import SYSTEM_PROMPT, build_messages, render_plain
from rag.llm.transformers_backend import TransformersBackend, default_device
from rag.settings import Settings
from rag.types import Answer, Passage

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
NO_SYSTEM_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
SPECIALS = ["<unk>", "<pad>", "<s>", "</s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def build_tiny(folder: Path, template: str | None, *, seed: int = 0) -> Path:
    """Save a character-level tokenizer and a random one-layer Llama into ``folder``."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    text = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    text += SYSTEM_PROMPT + render_plain(build_messages("？", [])) + "".join(map(chr, range(32, 127)))
    vocab = {token: i for i, token in enumerate(SPECIALS)}
    for char in sorted(set(text)):
        vocab.setdefault(char, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        additional_special_tokens=SPECIALS[4:],
    )
    if template:
        tokenizer.chat_template = template
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    tokenizer.save_pretrained(folder)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def grounded(backend: TransformersBackend) -> GroundedGenerator:
    return GroundedGenerator("transformers", backend, ExtractiveGenerator())


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("tiny-chat"), TEMPLATE)


@pytest.fixture(scope="module")
def backend(tiny_dir: Path) -> TransformersBackend:
    return TransformersBackend(tiny_dir, device="cpu", max_tokens=24, temperature=0.0)


@pytest.fixture
def library(articles) -> list[Passage]:
    return [passage_of(articles["26ee6a898d90"], 1)]


def test_loads_once_on_the_cpu(backend: TransformersBackend, tiny_dir: Path) -> None:
    tokenizer, model = backend.load()
    assert backend.load() == (tokenizer, model)
    assert str(model.device) == "cpu" and not model.training
    assert backend.name == f"transformers:{tiny_dir.name}"


def test_the_chat_template_formats_the_prompt(backend: TransformersBackend, library) -> None:
    prompt = backend.prompt(build_messages("图书馆怎样？", library))
    assert prompt.startswith(f"<|system|>{SYSTEM_PROMPT}<|end|><|user|>")
    assert prompt.endswith("<|end|><|assistant|>")
    assert library[0].chunk.text in prompt


def test_a_template_without_a_system_role_gets_the_rules_in_the_user_turn(tmp_path: Path, library) -> None:
    folder = build_tiny(tmp_path / "nosys", NO_SYSTEM_TEMPLATE)
    prompt = TransformersBackend(folder, device="cpu").prompt(build_messages("图书馆怎样？", library))
    assert prompt.startswith(f"<|user|>{SYSTEM_PROMPT}\n\n") and "<|system|>" not in prompt


def test_a_model_without_a_template_gets_a_plain_transcript(tmp_path: Path, library) -> None:
    folder = build_tiny(tmp_path / "plain", None)
    messages = build_messages("图书馆怎样？", library)
    assert TransformersBackend(folder, device="cpu").prompt(messages) == render_plain(messages)


def test_generation_streams_token_by_token(backend: TransformersBackend, library) -> None:
    pieces = list(backend.stream(build_messages("图书馆怎样？", library)))
    assert 2 <= len(pieces) <= 24 and all(pieces)
    # Greedy decoding is deterministic.
    assert "".join(backend.stream(build_messages("图书馆怎样？", library))) == "".join(pieces)


def test_the_rules_are_read_once_and_reused_without_changing_the_reply(tiny_dir: Path, library) -> None:
    messages = build_messages("图书馆怎样？", library)
    cached = TransformersBackend(tiny_dir, device="cpu", max_tokens=24, temperature=0.0)
    first = "".join(cached.stream(messages))
    assert cached._prefix is not None
    prefix, cache = cached._prefix
    assert cached._prefix_ids(messages, cached.prompt(messages)) == prefix
    assert "".join(cached.stream(messages)) == first and cached._prefix[1] is cache  # reused, not recomputed
    plain = TransformersBackend(tiny_dir, device="cpu", max_tokens=24, temperature=0.0)
    plain._prefix_ids = lambda messages, prompt: ()  # type: ignore[method-assign]
    assert "".join(plain.stream(messages)) == first and plain._prefix is None


def test_gibberish_is_streamed_then_replaced_by_the_extractive_answer(backend, library, articles) -> None:
    items = list(grounded(backend).stream("太原市图书馆自习室情况如何？", library))
    answer = items[-1]
    assert isinstance(answer, Answer) and len(items) > 2
    assert answer.generator == "extractive" and "未通过引用核对" in answer.notice
    assert answer.citations and answer.text.endswith("[1]")
    for c in answer.citations:
        assert articles[c.article_id].body[c.start : c.end] == c.quote


def test_an_abandoned_generation_stops_and_frees_the_model(tiny_dir: Path, library) -> None:
    backend = TransformersBackend(tiny_dir, device="cpu", max_tokens=3000, temperature=0.0)
    messages = build_messages("图书馆怎样？", library)
    stream = backend.stream(messages)
    next(stream)
    stream.close()
    started = time.monotonic()
    # Without the stop this would wait for 3000 tokens, then fail with "busy".
    assert list(backend.stream(messages, max_tokens=3, deadline=30))
    assert time.monotonic() - started < 30


def test_the_deadline_stops_generation(tiny_dir: Path, library) -> None:
    backend = TransformersBackend(tiny_dir, device="cpu", max_tokens=3000, temperature=0.0, deadline=0.5)
    started = time.monotonic()
    text = "".join(backend.stream(build_messages("图书馆怎样？", library)))
    assert time.monotonic() - started < 15
    assert len(text) < 3000


def test_sampling_with_a_temperature_works(tiny_dir: Path, library) -> None:
    backend = TransformersBackend(tiny_dir, device="cpu", max_tokens=8, temperature=0.8)
    assert "".join(backend.stream(build_messages("图书馆怎样？", library)))


def test_a_prompt_longer_than_the_model_allows_falls_back(tiny_dir: Path, library) -> None:
    backend = TransformersBackend(tiny_dir, device="cpu", max_tokens=24)
    _, model = backend.load()
    model.config.max_position_embeddings = 200
    with pytest.raises(BackendError, match="too long"):
        list(backend.stream(build_messages("图书馆怎样？", library)))
    answer = grounded(backend).generate("图书馆怎样？", library)
    assert answer.generator == "extractive" and "too long" in answer.notice


def test_a_folder_that_is_not_a_model_falls_back(tmp_path: Path, library) -> None:
    (tmp_path / "broken").mkdir()
    backend = TransformersBackend(tmp_path / "broken", device="cpu")
    answer = grounded(backend).generate("图书馆怎样？", library)
    assert answer.generator == "extractive" and "cannot load" in answer.notice


def test_build_generator_from_settings(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(generator="transformers", transformers_model=str(tiny_dir), max_new_tokens=33)
    gen = build_generator(settings)
    assert isinstance(gen, GroundedGenerator) and gen.name == "transformers"
    assert isinstance(gen.backend, TransformersBackend) and gen.backend.max_tokens == 33
    assert gen.backend.device is None  # chosen at load time
    assert build_query_rewriter(settings, gen) is not None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert default_device() == "cpu"


# -- a tiny model trained to say what the test needs -------------------------------------------------

GOOD = "11月4日，太原市图书馆自习室座无虚席[1]。"
INVENTED = "太原市有9座图书馆[1]。"
REPLIES = {"太原市图书馆自习室情况如何？": GOOD, "太原市有几座图书馆？": INVENTED}


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory: pytest.TempPathFactory, articles) -> Path:
    """The tiny model trained until greedy decoding reproduces ``REPLIES`` for their questions."""
    folder = tmp_path_factory.mktemp("tiny-trained")
    shutil.copytree(build_tiny(tmp_path_factory.mktemp("tiny-base"), TEMPLATE), folder, dirs_exist_ok=True)
    backend = TransformersBackend(folder, device="cpu")
    tokenizer, model = backend.load()
    library = [passage_of(articles["26ee6a898d90"], 1)]
    rows, starts = [], []
    for question, reply in REPLIES.items():
        prompt = tokenizer(backend.prompt(build_messages(question, library)), add_special_tokens=False)
        target = tokenizer(reply, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        rows.append(prompt["input_ids"] + target)
        starts.append(len(prompt["input_ids"]))
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (row, start) in enumerate(zip(rows, starts, strict=True)):
        ids[i, : len(row)] = torch.tensor(row)
        labels[i, start : len(row)] = torch.tensor(row[start:])
        mask[i, : len(row)] = 1
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    streak = 0
    for _ in range(300):
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        predicted = out.logits[:, :-1].argmax(-1)
        wanted = labels[:, 1:]
        streak = streak + 1 if bool((predicted[wanted != -100] == wanted[wanted != -100]).all()) else 0
        if streak >= 3:
            break
    model.eval()
    model.save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_a_trained_model_answer_passes_the_checks_with_exact_citations(trained_dir: Path, library, articles):
    settings = Settings(generator="transformers", transformers_model=str(trained_dir), temperature=0.0)
    gen = build_generator(settings)
    question = "太原市图书馆自习室情况如何？"
    items = list(gen.stream(question, library))
    answer = items[-1]
    assert isinstance(answer, Answer)
    assert "".join(i for i in items[:-1] if isinstance(i, str)) == GOOD
    assert answer.generator == "transformers" and answer.text == GOOD and not answer.notice
    (citation,) = answer.citations
    assert citation.n == 1 and "座无虚席" in citation.quote
    assert articles[citation.article_id].body[citation.start : citation.end] == citation.quote


@pytest.mark.slow
def test_a_question_the_passage_cannot_answer_never_reaches_the_trained_model(
    trained_dir: Path, library
) -> None:
    # The model was trained to invent 9座 here; the passage counts no libraries, so the
    # answer is refused before the model is called (the invented number is never streamed).
    # A model inventing a number for an answerable question: test_llm_openai.py.
    settings = Settings(generator="transformers", transformers_model=str(trained_dir), temperature=0.0)
    items = list(build_generator(settings).stream("太原市有几座图书馆？", library))
    answer = items[-1]
    assert isinstance(answer, Answer) and len(items) == 1
    assert answer.refused and answer.generator == "extractive" and "9" not in answer.text
