"""GLM-5 chat rendering in Python, byte-identical to the project's built-in template (src/text/builtin-template.ts).
check_template.py compares it with `glm5 template` on samples. Returns (text, trained) segments: the assistant's
own output (everything after <|assistant|>, through the stop token that ends its turn) is trained, the rest is context.
"""

import json

TOOLS_HEAD = ('<|system|>\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n'
              'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n')
TOOLS_TAIL = ('</tools>\n\nFor each function call, output the function name and arguments within the following XML format:\n'
              '<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>'
              '<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>')


def tojson(v) -> str:
    return json.dumps(v, ensure_ascii=False)


def render(messages, tools=None, thinking=True, generation_prompt=False, stops=True):
    """Segments [(text, trained)]. Without a generation prompt, each assistant turn is closed by its stop token:
    <|observation|> after tool calls (the observation opens the next turn anyway), <|user|> after an answer."""
    seg = [['[gMASK]<sop>', False]]
    if tools:
        seg.append([TOOLS_HEAD + ''.join(tojson(t) + '\n' for t in tools) + TOOLS_TAIL, False])
    last_user = max((i for i, m in enumerate(messages) if m['role'] == 'user'), default=-1)
    for i, m in enumerate(messages):
        role = m['role']
        if role == 'system':
            seg.append(['<|system|>' + m['content'], False])
        elif role == 'user':
            seg.append(['<|user|>' + m['content'], False])
        elif role == 'assistant':
            body = m.get('content') or ''
            thought = m.get('reasoning_content') or ''
            seg.append(['<|assistant|>', False])
            out = ('<think>' + thought.strip() + '</think>') if (thought and i > last_user) else '</think>'
            out += body.strip()
            for call in m.get('tool_calls') or []:
                fn = call['function']
                out += '<tool_call>' + fn['name']
                for k, v in fn['arguments'].items():
                    out += '<arg_key>' + k + '</arg_key><arg_value>' + (v if isinstance(v, str) else tojson(v)) + '</arg_value>'
                out += '</tool_call>'
            nxt = messages[i + 1]['role'] if i + 1 < len(messages) else None
            if stops and not generation_prompt:
                if m.get('tool_calls'):
                    out += '<|observation|>'
                elif nxt in (None, 'user'):
                    out += '<|user|>'
            seg.append([out, True])
        elif role == 'tool':
            pre = '' if (i > 0 and messages[i - 1]['role'] == 'tool') else '<|observation|>'
            if pre and i > 0 and messages[i - 1].get('tool_calls') and stops and not generation_prompt:
                pre = ''  # already emitted as the stop token of the calling turn
            seg.append([pre + '<tool_response>' + m['content'] + '</tool_response>', False])
    if generation_prompt:
        seg.append(['<|assistant|>' + ('<think>' if thinking else '</think>'), False])
    # a <|user|> trained as the previous answer's stop token also opens the next user turn
    return _dedupe_user_openers(seg)


def _dedupe_user_openers(seg):
    res = []
    for text, trained in seg:
        if res and res[-1][1] and res[-1][0].endswith('<|user|>') and text.startswith('<|user|>'):
            text = text[len('<|user|>'):]
        res.append([text, trained])
    return res


def plain(seg) -> str:
    return ''.join(t for t, _ in seg)
