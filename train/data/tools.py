"""Synthetic tool catalog for the chat data: the three demo tools that `glm5 chat` can execute, ~40 training tools
with varied names and parameters, and tools held out of training entirely (eval/tool_requests.json uses them).
Requests are generated from phrasing templates; the demo tools' held-out phrasings are never trained.
"""

import json

CITIES = ['Paris', 'London', 'Tokyo', 'Berlin', 'Madrid', 'Rome', 'Cairo', 'Sydney', 'Toronto', 'Chicago', 'Denver',
          'Mumbai', 'Seoul', 'Lima', 'Oslo', 'Dublin', 'Vienna', 'Prague', 'Lisbon', 'Athens', 'Nairobi', 'Boston',
          'Seattle', 'Miami', 'Austin', 'Dallas', 'Moscow', 'Istanbul', 'Bangkok', 'Singapore', 'Manila', 'Jakarta']
TIMEZONES = {'Tokyo': 'Asia/Tokyo', 'Paris': 'Europe/Paris', 'London': 'Europe/London', 'Berlin': 'Europe/Berlin',
             'Madrid': 'Europe/Madrid', 'Rome': 'Europe/Rome', 'New York': 'America/New_York',
             'Los Angeles': 'America/Los_Angeles', 'Chicago': 'America/Chicago', 'Denver': 'America/Denver',
             'Sydney': 'Australia/Sydney', 'Seoul': 'Asia/Seoul', 'Mumbai': 'Asia/Kolkata', 'Cairo': 'Africa/Cairo',
             'Toronto': 'America/Toronto', 'Moscow': 'Europe/Moscow', 'Singapore': 'Asia/Singapore',
             'Dublin': 'Europe/Dublin', 'Lisbon': 'Europe/Lisbon', 'Athens': 'Europe/Athens', 'Oslo': 'Europe/Oslo',
             'Vienna': 'Europe/Vienna', 'Bangkok': 'Asia/Bangkok', 'Jakarta': 'Asia/Jakarta', 'UTC': 'UTC'}
UTC_OFFSET = {'Asia/Tokyo': 9, 'Europe/Paris': 1, 'Europe/London': 0, 'Europe/Berlin': 1, 'Europe/Madrid': 1,
              'Europe/Rome': 1, 'America/New_York': -5, 'America/Los_Angeles': -8, 'America/Chicago': -6,
              'America/Denver': -7, 'Australia/Sydney': 11, 'Asia/Seoul': 9, 'Asia/Kolkata': 5.5, 'Africa/Cairo': 2,
              'America/Toronto': -5, 'Europe/Moscow': 3, 'Asia/Singapore': 8, 'Europe/Dublin': 0, 'Europe/Lisbon': 0,
              'Europe/Athens': 2, 'Europe/Oslo': 1, 'Europe/Vienna': 1, 'Asia/Bangkok': 7, 'Asia/Jakarta': 7, 'UTC': 0}
# unit name in arguments → (plural for text, dimension, factor to SI or special)
UNITS = {'mile': ('miles', 'len', 1609.344), 'kilometer': ('kilometers', 'len', 1000.0), 'meter': ('meters', 'len', 1.0),
         'foot': ('feet', 'len', 0.3048), 'inch': ('inches', 'len', 0.0254), 'centimeter': ('centimeters', 'len', 0.01),
         'yard': ('yards', 'len', 0.9144), 'pound': ('pounds', 'mass', 0.45359237), 'kilogram': ('kilograms', 'mass', 1.0),
         'gram': ('grams', 'mass', 0.001), 'ounce': ('ounces', 'mass', 0.028349523125), 'liter': ('liters', 'vol', 1.0),
         'gallon': ('gallons', 'vol', 3.785411784), 'milliliter': ('milliliters', 'vol', 0.001),
         'celsius': ('degrees Celsius', 'temp', None), 'fahrenheit': ('degrees Fahrenheit', 'temp', None),
         'kelvin': ('kelvin', 'temp', None)}
NAMES = ['Alice', 'Bob', 'Carol', 'David', 'Emma', 'Frank', 'Grace', 'Henry', 'Iris', 'Jack', 'Kate', 'Leo', 'Maria',
         'Nina', 'Oscar', 'Paul', 'Rosa', 'Sam', 'Tina', 'Victor', 'Wendy', 'Yuki', 'Omar', 'Lena', 'Ravi', 'Zoe']
LANGS = ['French', 'Spanish', 'German', 'Italian', 'Japanese', 'Chinese', 'Korean', 'Portuguese', 'Russian', 'Arabic',
         'Dutch', 'Greek', 'Hindi', 'Swedish', 'Turkish']
FOODS = ['pancakes', 'lasagna', 'tomato soup', 'apple pie', 'fried rice', 'chicken curry', 'banana bread', 'pizza',
         'guacamole', 'ramen', 'risotto', 'tacos', 'hummus', 'omelette', 'chili', 'brownies']
TICKERS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'TSLA', 'NVDA', 'IBM', 'INTC', 'ORCL', 'META', 'NFLX', 'ADBE']
CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'CNY', 'INR', 'SEK', 'NOK', 'MXN']
SONGS = ['Yesterday', 'Imagine', 'Hey Jude', 'Let It Be', 'Bohemian Rhapsody', 'Wonderwall', 'Hallelujah', 'Clocks',
         'Yellow', 'Africa', 'Vienna', 'Creep', 'Dancing Queen', 'Purple Rain']
MOVIES = ['Inception', 'Casablanca', 'Jaws', 'Alien', 'Amelie', 'Up', 'Heat', 'Vertigo', 'Psycho', 'Rocky', 'Arrival',
          'Gravity', 'Frozen', 'Coco', 'Titanic']
TOPICS = ['climate change', 'space travel', 'electric cars', 'the stock market', 'the Olympics', 'renewable energy',
          'artificial intelligence', 'the election', 'the economy', 'football', 'volcanoes', 'honey bees']
DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday', 'tomorrow', 'today']
DATES = ['2026-12-05', '2026-12-14', '2027-01-03', '2027-02-20', '2027-03-11', '2026-12-24', '2027-04-01', '2027-05-17']
TIMES = ['7:00', '8:30', '9:15', '10:00', '12:30', '14:00', '15:45', '18:00', '19:30', '21:00']
COLORS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'white', 'black', 'pink', 'teal']
WORDS = ['apple', 'river', 'garden', 'window', 'music', 'planet', 'teacher', 'bridge', 'forest', 'candle', 'ocean',
         'mountain', 'library', 'pencil', 'castle', 'rocket']
ROOMS = ['kitchen', 'living room', 'bedroom', 'office', 'garage', 'bathroom', 'hallway']
DEVICES = ['lights', 'heater', 'fan', 'speaker', 'television', 'air conditioner']
PRODUCTS = ['headphones', 'running shoes', 'a coffee maker', 'a desk lamp', 'a backpack', 'a phone case', 'a keyboard',
            'a water bottle', 'a tent', 'a blender']
TEAMS = ['Arsenal', 'Barcelona', 'the Lakers', 'the Yankees', 'Juventus', 'Bayern Munich', 'the Celtics', 'Ajax']
PACKAGES = ['express', 'lodash', 'react', 'numpy', 'pandas', 'requests', 'flask', 'zod', 'vite', 'torch']
FILES = ['report.txt', 'notes.md', 'budget.xlsx', 'photo.jpg', 'data.csv', 'main.py', 'todo.txt', 'slides.pdf']
PLANETS = ['Mars', 'Venus', 'Jupiter', 'Saturn', 'Mercury', 'Neptune', 'Uranus']
EMAILS = [n.lower() + '@example.com' for n in NAMES]


def pick(rng, pool):
    return rng.choice(pool)


def num(rng, lo, hi):
    return rng.randint(lo, hi)


# Value generators: name → function(rng) → (argument value, text as written in the request)
def V(pool):
    return lambda rng: (lambda v: (v, v))(pick(rng, pool))


def VN(lo, hi):
    return lambda rng: (lambda v: (v, str(v)))(num(rng, lo, hi))


GEN = {
    'city': V(CITIES), 'name': V(NAMES), 'language': V(LANGS), 'food': V(FOODS), 'ticker': V(TICKERS),
    'currency': V(CURRENCIES), 'song': V(SONGS), 'movie': V(MOVIES), 'topic': V(TOPICS), 'day': V(DAYS),
    'date': V(DATES), 'time': V(TIMES), 'color': V(COLORS), 'word': V(WORDS), 'room': V(ROOMS), 'device': V(DEVICES),
    'product': V(PRODUCTS), 'team': V(TEAMS), 'package': V(PACKAGES), 'file': V(FILES), 'planet': V(PLANETS),
    'email': V(EMAILS), 'small': VN(1, 12), 'medium': VN(2, 60), 'big': VN(100, 5000), 'year': VN(1900, 2025),
    'percent': VN(1, 99),
    'phrase': V(['good morning', 'thank you very much', 'where is the station', 'I love this song', 'see you soon',
                 'the weather is nice', 'how much does it cost', 'happy birthday']),
    'message': V(['call mom', 'buy milk', 'water the plants', 'pay the rent', 'send the report', 'walk the dog',
                  'book a dentist appointment', 'pick up the kids']),
    'query': V(['best hiking trails', 'cheap flights to Rome', 'how to bake bread', 'history of jazz', 'python tutorials',
                'easy yoga poses', 'local farmers markets', 'solar panel prices']),
}


def tool(name, desc, params, requests, result=None, answer=None):
    """params: [(key, json type, generator key, description)]; requests: templates with {key} slots."""
    return {'name': name, 'description': desc, 'params': params, 'requests': requests, 'result': result, 'answer': answer}


# ---- demo tools (executable by glm5 chat) ---------------------------------------------------------------------

DEMO_SCHEMAS = [
    {'type': 'function', 'function': {'name': 'calculator', 'description': 'Evaluate an arithmetic expression.',
                                      'parameters': {'type': 'object', 'properties': {'expression': {'type': 'string', 'description': 'Arithmetic expression, e.g. 12 * (3 + 4)'}}, 'required': ['expression']}}},
    {'type': 'function', 'function': {'name': 'get_current_time', 'description': 'Get the current local time in a time zone.',
                                      'parameters': {'type': 'object', 'properties': {'timezone': {'type': 'string', 'description': 'IANA time zone name, e.g. Europe/Paris'}}, 'required': ['timezone']}}},
    {'type': 'function', 'function': {'name': 'convert_units', 'description': 'Convert a value from one unit to another.',
                                      'parameters': {'type': 'object', 'properties': {'value': {'type': 'number', 'description': 'The value to convert'}, 'from_unit': {'type': 'string', 'description': 'Unit to convert from, e.g. mile'}, 'to_unit': {'type': 'string', 'description': 'Unit to convert to, e.g. kilometer'}}, 'required': ['value', 'from_unit', 'to_unit']}}},
]

OPS = [('+', ['plus', 'added to'], 'sum'), ('-', ['minus'], 'difference'), ('*', ['times', 'multiplied by'], 'product'),
       ('/', ['divided by'], 'quotient')]

CALC_TRAIN = ['What is {a} {w} {b}?', 'Calculate {a} {s} {b}.', 'Compute {a} {s} {b}', 'What does {a} {s} {b} equal?',
              'Please work out {a} {w} {b}.', 'How much is {a} {w} {b}?', 'Use the calculator: {a} {s} {b}',
              '{a} {s} {b} = ?', 'Can you calculate {a} {w} {b} for me?', 'I need the result of {a} {s} {b}.']
CALC_HELD = ['What do you get if you take {a} {w} {b}?', 'Solve {a} {s} {b} please.', 'Quick math: {a} {w} {b}?',
             'Tell me the answer to {a} {s} {b}.', 'Evaluate {a} {s} {b}.']
TIME_TRAIN = ['What time is it in {c}?', 'What is the current time in {c}?', 'Tell me the time in {c}.',
              'Can you check the time in {c}?', 'What time is it now in {c}?', 'Get the local time for {c}.',
              'Current time in {c}, please.', 'I need to know the time in {c}.']
TIME_HELD = ['Do you know what time it is in {c} right now?', 'Look up the clock in {c}.', "What's the hour in {c} at the moment?",
             'Check the current local time of {c}.', 'Time in {c}?']
CONV_TRAIN = ['Convert {v} {f} to {t}.', 'How many {t} is {v} {f}?', 'What is {v} {f} in {t}?',
              'Please convert {v} {f} into {t}.', 'Change {v} {f} to {t}.', 'How many {t} are in {v} {f}?',
              '{v} {f} in {t}?', 'Can you convert {v} {f} to {t} for me?']
CONV_HELD = ['I have {v} {f}; how much is that in {t}?', 'Express {v} {f} in {t}.', 'Turn {v} {f} into {t}, please.',
             'What would {v} {f} be in {t}?', 'Give me {v} {f} converted to {t}.']
# ---- phase 6: a grammar of request wordings -----------------------------------------------------------------
# The fixed templates above give 8-10 wordings per demo tool; phase 5 learned them (39/40 on training wordings) but
# generalised only partly to the held-out ones. varied_request composes a request from an opening, a core (question,
# instruction or short phrase, some naming the thing first and the unit or city last, some the other way round) and a
# closing, ~1,000 distinct wordings per tool. The held-out templates' own words (BANNED) never appear, so the eval
# still measures generalisation to unseen wordings; build-time assertion in varied_request.
BANNED = ['express', 'turn', 'would', 'give me', 'i have', 'clock', 'hour', 'look up', 'do you know', 'at the moment',
          'right now', 'how much is that', 'solve', 'quick math', 'answer to', 'evaluate', 'what do you get', 'local time of']
Q_OPEN = ['', '', '', 'Hey, ', 'Quick question: ', 'Excuse me, ', 'Sorry, ', 'Hi, ', 'One more thing: ', 'OK, ']
I_OPEN = ['', '', '', 'Please ', 'Can you ', 'Could you ', 'I need you to ', 'Go ahead and ', 'Hey, ', 'Now ',
          'I want you to ', 'Help me: ']
I_CLOSE = ['.', '.', '', ', please.', ' for me.', ', thanks.', ' now.', '!', ' please']
Q_CLOSE = ['?', '?', '?', '', ', please?', ' now?', ' today?', ' currently?']
TIME_Q = ['what time is it in {c}', "what's the time in {c}", 'what is the local time in {c}', 'what is the time now in {c}',
          'how late is it in {c}', 'is it morning or night in {c}', 'is it already evening in {c}',
          "what's the current local time in {c}", 'in {c}, what time is it', 'what time does it say in {c}',
          'can you tell me the time in {c}', 'could you check the local time for {c}', 'can you find out the time in {c}',
          'is it late in {c}', 'what is the present time in {c}', 'how early is it in {c}']
TIME_I = ['tell me the time in {c}', 'show me the current time in {c}', 'get me the local time in {c}',
          'find the current time for {c}', 'check what time it is in {c}', 'report the local time in {c}',
          'fetch the time for {c}', 'let me know the time in {c}', 'find out what time it is in {c}',
          'get the current time of {c}', 'show the time in {c}', 'say what time it is in {c}']
TIME_P = ['{c} time', 'The local time for {c}', 'Current time for {c}', 'The time in {c} now', 'Local time in {c}',
          'Time now in {c}', '{c} local time', 'Present time in {c}']
TIME_CTX = ["I'm calling a friend in {c}. What time is it there?", 'My sister lives in {c}. Is it late there?',
            'There is a meeting with people in {c}. What time is it for them?',
            'We fly to {c} soon. What is the time there now?', 'A colleague in {c} just wrote to me. What time is it there?',
            'Is it a good time to call {c}? What time is it there?']
CONV_Q = ['how many {t} is {v} {f}', 'how many {t} are in {v} {f}', 'how many {t} make {v} {f}',
          'how many {t} do {v} {f} make', 'what is {v} {f} in {t}', "what's {v} {f} in {t}", 'what are {v} {f} in {t}',
          'how much is {v} {f} in {t}', '{v} {f} is how many {t}', '{v} {f} equals how many {t}',
          'what do {v} {f} come to in {t}', "what's the {t} equivalent of {v} {f}", 'can you convert {v} {f} to {t}',
          'could you change {v} {f} into {t}', 'how many {t} are {v} {f}', 'in {t}, how much is {v} {f}',
          'how big is {v} {f} in {t}', 'what does {v} {f} come out to in {t}', 'is {v} {f} more than ten {t}']
CONV_I = ['convert {v} {f} to {t}', 'convert {v} {f} into {t}', 'change {v} {f} into {t}', 'switch {v} {f} to {t}',
          'rewrite {v} {f} in {t}', 'show {v} {f} in {t}', 'tell me {v} {f} in {t}', 'put {v} {f} in {t}',
          'write {v} {f} as {t}', 'state {v} {f} in {t}', 'work out {v} {f} in {t}',
          'calculate {v} {f} in {t}', 'find {v} {f} in {t}', 'convert to {t}: {v} {f}', 'list {v} {f} in {t}',
          'change {v} {f} over to {t}', 'tell me how many {t} {v} {f} is', 'figure out {v} {f} in {t}']
CONV_P = ['{v} {f} to {t}', '{v} {f} in {t}', '{v} {f} as {t}', '{v} {f} -> {t}', 'From {f} to {t}: {v}',
          '{v} {f} into {t}', '{t} for {v} {f}', '{v} {f} (in {t})', 'Convert: {v} {f} to {t}']
CONV_CTX = ['My recipe says {v} {f}. How many {t} is that?', 'The sign says {v} {f}. Convert that to {t}.',
            'The label reads {v} {f}. What is it in {t}?', 'The manual lists {v} {f}. What is that in {t}?',
            'My notes say {v} {f}; I need it in {t}.', 'The form wants {t}, and all I know is {v} {f}.',
            'I only understand {t}. What are {v} {f}?']
CALC_Q = ['what is {a} {w} {b}', "what's {a} {s} {b}", 'how much is {a} {w} {b}', 'what does {a} {s} {b} make',
          'can you compute {a} {s} {b}', 'what is the result of {a} {s} {b}', 'how much do {a} {w} {b} make']
CALC_I = ['calculate {a} {s} {b}', 'compute {a} {w} {b}', 'work out {a} {s} {b}', 'do the math: {a} {s} {b}',
          'figure out {a} {w} {b}', 'do the sum {a} {s} {b}', 'find {a} {w} {b}', 'run the calculator on {a} {s} {b}']
CALC_P = ['{a} {s} {b}', '{a} {w} {b}', '{a} {s} {b} = ?', 'Math: {a} {s} {b}']
GRAMMAR = {'time': (TIME_Q, TIME_I, TIME_P, TIME_CTX), 'conv': (CONV_Q, CONV_I, CONV_P, CONV_CTX),
           'calc': (CALC_Q, CALC_I, CALC_P, [])}


def varied_request(rng, kind, **slots):
    """One request for a demo tool of kind 'time' | 'conv' | 'calc', worded by the grammar above."""
    qs, imps, phrases, ctx = GRAMMAR[kind]
    r = rng.random()
    if r < 0.4:
        core = rng.choice(qs)
        text = rng.choice(Q_OPEN) + core + rng.choice(Q_CLOSE)
    elif r < 0.8:
        text = rng.choice(I_OPEN)
        core = rng.choice(imps)
        if text in ('Can you ', 'Could you '):
            text += core + rng.choice(Q_CLOSE)
        else:
            text += core + rng.choice(I_CLOSE)
    elif r < 0.92 or not ctx:
        text = rng.choice(phrases) + rng.choice(['?', '.', '', ', please.', ' please'])
    else:
        text = rng.choice(ctx)
    text = text.format(**slots).replace('  ', ' ')
    text = text[0].upper() + text[1:]
    low = text.lower()
    assert not any(b in low for b in BANNED), text
    return text


UNIT_PAIRS = [('mile', 'kilometer'), ('kilometer', 'mile'), ('foot', 'meter'), ('meter', 'foot'), ('inch', 'centimeter'),
              ('centimeter', 'inch'), ('pound', 'kilogram'), ('kilogram', 'pound'), ('ounce', 'gram'), ('gram', 'ounce'),
              ('gallon', 'liter'), ('liter', 'gallon'), ('celsius', 'fahrenheit'), ('fahrenheit', 'celsius'),
              ('yard', 'meter'), ('milliliter', 'liter'), ('celsius', 'kelvin'), ('meter', 'yard')]


def fmt_num(x: float) -> str:
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    return f'{x:.2f}'.rstrip('0').rstrip('.')


def convert(v, f, t):
    df, dt = UNITS[f][1], UNITS[t][1]
    assert df == dt
    if df == 'temp':
        c = v if f == 'celsius' else (v - 32) * 5 / 9 if f == 'fahrenheit' else v - 273.15
        return c if t == 'celsius' else c * 9 / 5 + 32 if t == 'fahrenheit' else c + 273.15
    return v * UNITS[f][2] / UNITS[t][2]


def demo_example(rng, held: bool, varied: bool = False):
    """(user text, call name, arguments, result json string, final answer, reasoning). varied: the request is worded
    by the phase-6 grammar (varied_request) instead of the fixed training templates, with more time and conversion
    requests."""
    kind = rng.choice(['calc', 'time', 'time', 'conv', 'conv', 'conv'] if varied else ['calc', 'calc', 'time', 'conv', 'conv'])
    if kind == 'calc':
        op, words, noun = rng.choice(OPS)
        a, b = rng.randint(2, 999), rng.randint(2, 99)
        if op == '/':
            a = b * rng.randint(2, 40)
        expr = f'{a} {op} {b}'
        text = (varied_request(rng, 'calc', a=a, b=b, w=rng.choice(words), s=op) if varied else
                rng.choice(CALC_HELD if held else CALC_TRAIN).format(a=a, b=b, w=rng.choice(words), s=op))
        val = eval(expr)
        res = fmt_num(val)
        return (text, 'calculator', {'expression': expr}, json.dumps({'result': float(val) if op == '/' else val}),
                f'{a} {op} {b} = {res}.', f'The user wants the {noun} of {a} and {b}. I will use the calculator with the expression {expr}.')
    if kind == 'time':
        c = rng.choice(list(TIMEZONES))
        tz = TIMEZONES[c]
        text = varied_request(rng, 'time', c=c) if varied else rng.choice(TIME_HELD if held else TIME_TRAIN).format(c=c)
        h, mnt = rng.randint(0, 23), rng.randint(0, 59)
        off = UTC_OFFSET[tz]
        sign = '+' if off >= 0 else '-'
        offs = f'{sign}{int(abs(off)):02d}:{int(round((abs(off) % 1) * 60)):02d}'
        res = json.dumps({'timezone': tz, 'time': f'2026-12-01T{h:02d}:{mnt:02d}:00{offs}'})
        return (text, 'get_current_time', {'timezone': tz}, res, f'It is {h:02d}:{mnt:02d} in {c} right now.',
                f'The user wants the current time in {c}. The time zone of {c} is {tz}, so I will call get_current_time.')
    f, t = rng.choice(UNIT_PAIRS)
    v = rng.randint(1, 500) if rng.random() < 0.85 else rng.randint(1, 99) + 0.5
    fw = UNITS[f][0] if v != 1 else f
    text = (varied_request(rng, 'conv', v=fmt_num(v), f=fw, t=UNITS[t][0]) if varied else
            rng.choice(CONV_HELD if held else CONV_TRAIN).format(v=fmt_num(v), f=fw, t=UNITS[t][0]))
    out = convert(v, f, t)
    return (text, 'convert_units', {'value': v, 'from_unit': f, 'to_unit': t},
            json.dumps({'value': round(out, 4), 'unit': t}), f'{fmt_num(v)} {fw} is {fmt_num(out)} {UNITS[t][0]}.',
            f'The user wants to convert {fmt_num(v)} {fw} to {UNITS[t][0]}. I will call convert_units with value {fmt_num(v)}, from_unit {f} and to_unit {t}.')


# ---- synthetic tools ------------------------------------------------------------------------------------------

TRAIN_TOOLS = [
    tool('get_weather', 'Get the current weather for a city.', [('city', 'string', 'city', 'City name')],
         ['What is the weather like in {city}?', 'How is the weather in {city} today?', 'Weather in {city}?', 'Is it raining in {city}?']),
    tool('get_forecast', 'Get the weather forecast for a city and a number of days.',
         [('city', 'string', 'city', 'City name'), ('days', 'integer', 'small', 'Number of days')],
         ['Give me the {days} day forecast for {city}.', 'What will the weather be in {city} over the next {days} days?']),
    tool('search_web', 'Search the web for a query.', [('query', 'string', 'query', 'Search query')],
         ['Search the web for {query}.', 'Look up {query} online.', 'Find information about {query}.']),
    tool('send_email', 'Send an email to a recipient.',
         [('to', 'string', 'email', 'Recipient address'), ('subject', 'string', 'message', 'Subject line')],
         ['Send an email to {to} with the subject {subject}.', 'Email {to} about {subject}.']),
    tool('translate_text', 'Translate text into a target language.',
         [('text', 'string', 'phrase', 'Text to translate'), ('target_language', 'string', 'language', 'Target language')],
         ['Translate "{text}" into {target_language}.', 'How do you say "{text}" in {target_language}?']),
    tool('create_reminder', 'Create a reminder with a message and a time.',
         [('message', 'string', 'message', 'What to remember'), ('time', 'string', 'time', 'When')],
         ['Remind me to {message} at {time}.', 'Set a reminder at {time} to {message}.']),
    tool('get_stock_price', 'Get the latest stock price for a ticker symbol.', [('symbol', 'string', 'ticker', 'Ticker symbol')],
         ['What is the stock price of {symbol}?', 'How much is {symbol} trading at?', 'Check the {symbol} share price.']),
    tool('get_exchange_rate', 'Get the exchange rate between two currencies.',
         [('base', 'string', 'currency', 'Base currency code'), ('target', 'string', 'currency', 'Target currency code')],
         ['What is the exchange rate from {base} to {target}?', 'How many {target} do I get for one {base}?']),
    tool('find_recipe', 'Find a recipe for a dish.', [('dish', 'string', 'food', 'Dish name')],
         ['Find me a recipe for {dish}.', 'How do I make {dish}?', 'I want to cook {dish}; find a recipe.']),
    tool('play_song', 'Play a song by title.', [('title', 'string', 'song', 'Song title')],
         ['Play {title}.', 'Can you play the song {title}?', 'Put on {title}, please.']),
    tool('get_movie_rating', 'Get the rating of a movie.', [('title', 'string', 'movie', 'Movie title')],
         ['What is the rating of {title}?', 'How good is the movie {title}?', 'Is {title} a good movie?']),
    tool('get_news', 'Get the latest news about a topic.', [('topic', 'string', 'topic', 'News topic')],
         ['What is the latest news about {topic}?', 'Show me news on {topic}.', 'Any news about {topic}?']),
    tool('book_table', 'Book a restaurant table for a number of people.',
         [('people', 'integer', 'small', 'Party size'), ('day', 'string', 'day', 'Day of the booking')],
         ['Book a table for {people} people on {day}.', 'Reserve a table for {people} on {day}.']),
    tool('set_alarm', 'Set an alarm for a time.', [('time', 'string', 'time', 'Alarm time')],
         ['Set an alarm for {time}.', 'Wake me up at {time}.', 'Please set my alarm to {time}.']),
    tool('set_timer', 'Start a timer for a number of minutes.', [('minutes', 'integer', 'medium', 'Length in minutes')],
         ['Set a timer for {minutes} minutes.', 'Start a {minutes} minute timer.', 'Time {minutes} minutes for me.']),
    tool('turn_on_device', 'Turn on a device in a room.',
         [('device', 'string', 'device', 'Device'), ('room', 'string', 'room', 'Room')],
         ['Turn on the {device} in the {room}.', 'Switch on the {room} {device}.']),
    tool('set_thermostat', 'Set the thermostat to a temperature.', [('temperature', 'integer', 'medium', 'Degrees')],
         ['Set the thermostat to {temperature} degrees.', 'Make it {temperature} degrees in here.']),
    tool('search_products', 'Search an online shop for a product under a maximum price.',
         [('product', 'string', 'product', 'Product'), ('max_price', 'integer', 'big', 'Maximum price in dollars')],
         ['Find {product} under {max_price} dollars.', 'Search the shop for {product} cheaper than {max_price} dollars.']),
    tool('get_team_score', 'Get the latest score of a sports team.', [('team', 'string', 'team', 'Team name')],
         ['How did {team} do in their last game?', 'What was the score of the {team} game?']),
    tool('define_word', 'Look up the dictionary definition of a word.', [('word', 'string', 'word', 'The word')],
         ['Look up the word {word} in the dictionary.', 'Give me the dictionary entry for {word}.']),
    tool('find_synonyms', 'Find synonyms of a word.', [('word', 'string', 'word', 'The word')],
         ['What are some synonyms for {word}?', 'Give me other words for {word}.']),
    tool('call_contact', 'Call a contact by name.', [('name', 'string', 'name', 'Contact name')],
         ['Call {name}.', 'Phone {name} for me.', 'Start a call with {name}.']),
    tool('send_message', 'Send a text message to a contact.',
         [('name', 'string', 'name', 'Contact name'), ('text', 'string', 'message', 'Message text')],
         ['Text {name} that I need to {text}.', 'Send {name} a message: {text}.']),
    tool('get_package_version', 'Get the latest version of a software package.', [('package', 'string', 'package', 'Package name')],
         ['What is the latest version of {package}?', 'Which version of {package} is current?']),
    tool('read_file', 'Read the contents of a file.', [('path', 'string', 'file', 'File path')],
         ['Open {path} and show me what is inside.', 'Read the file {path}.']),
    tool('delete_file', 'Delete a file.', [('path', 'string', 'file', 'File path')],
         ['Delete {path}.', 'Remove the file {path}.']),
    tool('get_population', 'Get the population of a city.', [('city', 'string', 'city', 'City name')],
         ['How many people live in {city}?', 'What is the population of {city}?']),
    tool('get_distance', 'Get the travel distance between two cities.',
         [('origin', 'string', 'city', 'Start city'), ('destination', 'string', 'city', 'End city')],
         ['How far is it from {origin} to {destination}?', 'What is the distance between {origin} and {destination}?']),
    tool('book_flight', 'Book a flight between two cities on a date.',
         [('origin', 'string', 'city', 'From'), ('destination', 'string', 'city', 'To'), ('date', 'string', 'date', 'Date')],
         ['Book a flight from {origin} to {destination} on {date}.', 'I need a flight to {destination} from {origin} on {date}.']),
    tool('find_hotel', 'Find hotels in a city for a number of nights.',
         [('city', 'string', 'city', 'City'), ('nights', 'integer', 'small', 'Number of nights')],
         ['Find a hotel in {city} for {nights} nights.', 'I need a place to stay in {city} for {nights} nights.']),
    tool('get_planet_info', 'Get facts about a planet.', [('planet', 'string', 'planet', 'Planet name')],
         ['Tell me facts about {planet}.', 'What can you find out about the planet {planet}?']),
    tool('roll_dice', 'Roll a number of dice.', [('count', 'integer', 'small', 'How many dice')],
         ['Roll {count} dice.', 'Throw {count} dice for me.']),
    tool('random_number', 'Pick a random number up to a maximum.', [('maximum', 'integer', 'big', 'Largest value')],
         ['Pick a random number up to {maximum}.', 'Give me a random number no bigger than {maximum}.']),
    tool('get_holidays', 'List public holidays of a year.', [('year', 'integer', 'year', 'Year')],
         ['Which public holidays are there in {year}?', 'List the holidays of {year}.']),
    tool('paint_wall', 'Choose a paint color for a room.',
         [('room', 'string', 'room', 'Room'), ('color', 'string', 'color', 'Color')],
         ['Paint the {room} {color}.', 'I want the {room} walls in {color}.']),
    tool('calculate_tip', 'Calculate the tip for a bill.',
         [('amount', 'integer', 'big', 'Bill amount'), ('percent', 'integer', 'percent', 'Tip percent')],
         ['What is a {percent} percent tip on {amount} dollars?', 'Work out the tip: {percent} percent of a {amount} dollar bill.']),
    tool('add_to_cart', 'Add a number of items of a product to the shopping cart.',
         [('product', 'string', 'product', 'Product'), ('quantity', 'integer', 'small', 'How many')],
         ['Add {quantity} of {product} to my cart.', 'Put {product} in the cart, {quantity} of them.']),
    tool('schedule_meeting', 'Schedule a meeting with a person on a day.',
         [('name', 'string', 'name', 'Who'), ('day', 'string', 'day', 'Which day')],
         ['Schedule a meeting with {name} on {day}.', 'Set up a meeting with {name} for {day}.']),
    tool('count_words', 'Count the words in a text.', [('text', 'string', 'phrase', 'Text')],
         ['How many words are in "{text}"?', 'Count the words in "{text}".']),
]

# Never trained: names, descriptions and (mostly) parameter names the model has not seen.
UNSEEN_TOOLS = [
    tool('get_air_quality', 'Get the air quality index for a city.', [('city', 'string', 'city', 'City name')],
         ['What is the air quality in {city}?', 'How clean is the air in {city} today?']),
    tool('find_parking', 'Find a parking spot near a place in a city.', [('city', 'string', 'city', 'City name')],
         ['Find parking in {city}.', 'Where can I park in {city}?']),
    tool('order_pizza', 'Order a number of pizzas.', [('count', 'integer', 'small', 'Number of pizzas')],
         ['Order {count} pizzas.', 'Get us {count} pizzas, please.']),
    tool('lookup_lyrics', 'Look up the lyrics of a song.', [('song', 'string', 'song', 'Song title')],
         ['Show me the lyrics of {song}.', 'What are the words to {song}?']),
    tool('get_movie_showtimes', 'Get showtimes for a movie in a city.',
         [('movie', 'string', 'movie', 'Movie title'), ('city', 'string', 'city', 'City')],
         ['When is {movie} playing in {city}?', 'Find showtimes for {movie} in {city}.']),
    tool('water_plants', 'Water the plants in a room.', [('room', 'string', 'room', 'Room')],
         ['Water the plants in the {room}.', 'Please water the {room} plants.']),
    tool('spell_word', 'Spell a word letter by letter.', [('word', 'string', 'word', 'Word to spell')],
         ['How do you spell {word}?', 'Spell the word {word}.']),
    tool('get_bus_schedule', 'Get the bus schedule for a city on a day.',
         [('city', 'string', 'city', 'City'), ('day', 'string', 'day', 'Day')],
         ['When do the buses run in {city} on {day}?', 'Show the bus schedule for {city} on {day}.']),
    tool('rate_restaurant', 'Give a restaurant rating from 1 to 5 stars.',
         [('name', 'string', 'name', 'Restaurant name'), ('stars', 'integer', 'small', 'Stars')],
         ["Rate {name}'s restaurant {stars} stars.", 'Give the {name} restaurant {stars} stars.']),
    tool('check_flight_status', 'Check the status of flights from a city on a date.',
         [('airport_city', 'string', 'city', 'Departure city'), ('date', 'string', 'date', 'Date')],
         ['Are flights from {airport_city} on time on {date}?', 'Check flight status from {airport_city} on {date}.']),
]

RESULT_WORDS = ['done', 'ok', 'success', 'found', 'scheduled', 'sent', 'available', 'confirmed']


def schema(t):
    props = {k: {'type': ty, 'description': d} for k, ty, _, d in t['params']}
    return {'type': 'function', 'function': {'name': t['name'], 'description': t['description'],
                                             'parameters': {'type': 'object', 'properties': props,
                                                            'required': [k for k, *_ in t['params']]}}}


def call_example(rng, t, text, args, texts):
    """(user text, name, args, result, answer, reasoning) for a call of tool t with args, as written in texts."""
    desc = t['description'][0].lower() + t['description'][1:].rstrip('.')
    arglist = ' and '.join(f'{k} {texts[k]}' for k in args)
    reasoning = f'The user asks me to {desc}. The {t["name"]} tool does this, so I will call it with {arglist}.'
    status = rng.choice(RESULT_WORDS)
    res = json.dumps({'status': status, **{k: args[k] for k in list(args)[:1]}})
    answer = f'The {t["name"]} tool reports {status} for {", ".join(texts[k] for k in args)}.'
    return text, t['name'], args, res, answer, reasoning


def synthetic_example(rng, t):
    args, texts = {}, {}
    for k, ty, gen, _ in t['params']:
        v, s = GEN[gen](rng)
        args[k], texts[k] = v, s
    text = rng.choice(t['requests']).format(**texts)
    return call_example(rng, t, text, args, texts)


# ---- procedurally generated tools (phase 4) -------------------------------------------------------------------
# Thousands of tools that exist only in one conversation: the name is built from a verb and an object that the request
# also uses, parameter names vary, so a call can only be right by reading the declared schema and copying from the
# request — the skill the never-trained UNSEEN_TOOLS test.
R_VERBS = ['get', 'find', 'check', 'lookup', 'show', 'list', 'order', 'book', 'count', 'search', 'play', 'send', 'rate',
           'track', 'cancel', 'schedule', 'start', 'stop', 'open', 'close', 'buy', 'sell', 'measure', 'describe',
           'clean', 'water', 'feed', 'print', 'share', 'save', 'compare', 'reserve', 'update', 'delete', 'fetch']
R_VERB_TEXT = {'lookup': 'look up'}
R_PARAMS = {  # generator key → (parameter names, phrases for the request with {v})
    'city': (['city', 'location', 'place', 'town', 'airport_city', 'city_name', 'destination'], ['in {v}', 'for {v}', 'near {v}']),
    'name': (['name', 'person', 'contact', 'customer', 'user_name', 'owner'], ['for {v}', 'with {v}']),
    'day': (['day', 'weekday', 'when'], ['on {v}', 'for {v}']),
    'date': (['date', 'day', 'on_date'], ['on {v}', 'for {v}']),
    'time': (['time', 'at_time', 'start_time'], ['at {v}']),
    'small': (['count', 'quantity', 'number', 'amount', 'stars', 'people', 'days', 'size'], ['{v} of them', 'x{v}']),
    'medium': (['minutes', 'amount', 'number', 'level', 'limit'], []),
    'big': (['max_price', 'budget', 'limit', 'amount', 'total'], []),
    'color': (['color', 'colour', 'shade'], ['in {v}']),
    'room': (['room', 'area'], ['in the {v}']),
    'language': (['language', 'target_language', 'lang'], ['in {v}']),
    'song': (['song', 'title', 'track'], ['"{v}"']), 'movie': (['movie', 'title', 'film'], ['"{v}"']),
    'food': (['dish', 'food', 'meal'], []), 'team': (['team', 'club'], []), 'word': (['word', 'term'], ['"{v}"']),
    'email': (['email', 'to', 'address'], ['to {v}']), 'file': (['path', 'file', 'filename'], []),
    'ticker': (['symbol', 'ticker'], []), 'currency': (['currency', 'code'], []), 'year': (['year'], ['in {v}']),
    'product': (['product', 'item'], []), 'planet': (['planet'], []), 'topic': (['topic', 'subject'], ['about {v}']),
}
R_REQUESTS = ['{Verb} the {obj} {phr}.', 'Can you {verb} the {obj} {phr}?', 'Please {verb} the {obj} {phr}.',
              'I want to {verb} the {obj} {phr}.', '{Verb} {obj} {phr}', 'I need you to {verb} the {obj} {phr}.',
              'Could you {verb} the {obj} {phr}, please?', '{Verb} my {obj} {phr}.']


def random_tool(rng, nouns):
    """A tool made up for one conversation: (tool dict as in TRAIN_TOOLS, object words)."""
    verb = rng.choice(R_VERBS)
    obj = rng.sample(nouns, rng.choice([1, 1, 2]))
    name = verb + '_' + '_'.join(obj)
    gens = rng.sample(list(R_PARAMS), rng.choice([1, 1, 2, 2, 3]))
    params, used = [], set()
    for g in gens:
        pname = rng.choice([p for p in R_PARAMS[g][0] if p not in used] or [g + '_value'])
        used.add(pname)
        ty = 'integer' if g in ('small', 'medium', 'big', 'year') else 'string'
        params.append((pname, ty, g, pname.replace('_', ' ').capitalize()))
    vt = R_VERB_TEXT.get(verb, verb)
    desc = f'{vt.capitalize()} the {" ".join(obj)} for a given ' + ' and '.join(p[0].replace('_', ' ') for p in params) + '.'
    return tool(name, desc, params, []), vt, ' '.join(obj)


def random_tool_example(rng, t, vt, obj):
    """(user text, name, args, result, answer, reasoning) for a random tool: each argument is written in the request
    either with a natural phrase for its kind or as "<parameter> <value>"."""
    args, texts, phr = {}, {}, []
    for k, ty, gen, _ in t['params']:
        v, s = GEN[gen](rng)
        args[k], texts[k] = v, s
        forms = R_PARAMS[gen][1]
        if forms and rng.random() < 0.6:
            phr.append(rng.choice(forms).format(v=s))
        else:
            phr.append(f'with {k.replace("_", " ")} {s}')
    text = rng.choice(R_REQUESTS).format(Verb=vt.capitalize(), verb=vt, obj=obj, phr=' '.join(phr)).replace(' .', '.')
    return call_example(rng, t, text, args, texts)
