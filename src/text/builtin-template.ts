// The built-in GLM-5 chat template, used when a checkpoint ships none and written into every preset.
// Written for this project; it renders the same prompts as the official GLM-4.7 template (test/text-template.test.ts).

export const BUILTIN_GLM5_TEMPLATE = `{#- GLM-5 prompt format (glm5 built-in). Layout, no newlines outside the tools block and message text:
    [gMASK]<sop> [<|system|>TOOLS] then per message <|system|>T | <|user|>T | <|assistant|>THINK CONTENT CALLS
    | [<|observation|>]<tool_response>T</tool_response>, then <|assistant|><think> (or </think> when thinking is off). -#}
{%- macro text_of(c) -%}
  {%- if c is string -%}
    {{- c -}}
  {%- elif c is iterable and c is not mapping -%}
    {%- for part in c -%}
      {%- if part is string -%}
        {{- part -}}
      {%- elif part is mapping and part.type == 'text' -%}
        {{- part.text -}}
      {%- endif -%}
    {%- endfor -%}
  {%- elif c is not none -%}
    {{- c -}}
  {%- endif -%}
{%- endmacro -%}
{{- '[gMASK]<sop>' -}}
{%- if tools -%}
  {{- '<|system|>\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\n' -}}
  {{- 'You are provided with function signatures within <tools></tools> XML tags:\\n<tools>\\n' -}}
  {%- for tool in tools -%}
    {{- tool | tojson(ensure_ascii=False) -}}
    {{- '\\n' -}}
  {%- endfor -%}
  {{- '</tools>\\n\\nFor each function call, output the function name and arguments within the following XML format:\\n' -}}
  {{- '<tool_call>{function-name}<arg_key>{arg-key-1}</arg_key><arg_value>{arg-value-1}</arg_value>' -}}
  {{- '<arg_key>{arg-key-2}</arg_key><arg_value>{arg-value-2}</arg_value>...</tool_call>' -}}
{%- endif -%}
{#- Reasoning of assistant turns before the last user message is dropped unless clear_thinking is false. -#}
{%- set state = namespace(last_user=-1) -%}
{%- for m in messages -%}
  {%- if m.role == 'user' -%}
    {%- set state.last_user = loop.index0 -%}
  {%- endif -%}
{%- endfor -%}
{%- for m in messages -%}
  {%- if m.role == 'system' -%}
    {{- '<|system|>' + text_of(m.content) -}}
  {%- elif m.role == 'user' -%}
    {{- '<|user|>' + text_of(m.content) -}}
  {%- elif m.role == 'assistant' -%}
    {%- set body = text_of(m.content) -%}
    {%- set thought = '' -%}
    {%- if m.reasoning_content is string -%}
      {%- set thought = m.reasoning_content -%}
    {%- elif '</think>' in body -%}
      {#- Raw model output sent back as content: reasoning is what precedes the first </think>. -#}
      {%- set thought = body.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') -%}
      {%- set body = body.split('</think>')[-1].lstrip('\\n') -%}
    {%- endif -%}
    {{- '<|assistant|>' -}}
    {%- if thought and (loop.index0 > state.last_user or (clear_thinking is defined and not clear_thinking)) -%}
      {{- '<think>' + thought.strip() + '</think>' -}}
    {%- else -%}
      {{- '</think>' -}}
    {%- endif -%}
    {{- body.strip() -}}
    {%- if m.tool_calls -%}
      {%- for call in m.tool_calls -%}
        {%- set fn = call.function if call.function else call -%}
        {{- '<tool_call>' + fn.name -}}
        {%- for key, value in fn.arguments.items() -%}
          {{- '<arg_key>' + key + '</arg_key><arg_value>' -}}
          {{- value if value is string else value | tojson(ensure_ascii=False) -}}
          {{- '</arg_value>' -}}
        {%- endfor -%}
        {{- '</tool_call>' -}}
      {%- endfor -%}
    {%- endif -%}
  {%- elif m.role == 'tool' -%}
    {#- One <|observation|> opens each run of consecutive tool results. -#}
    {%- if loop.first or messages[loop.index0 - 1].role != 'tool' -%}
      {{- '<|observation|>' -}}
    {%- endif -%}
    {{- '<tool_response>' + text_of(m.content) + '</tool_response>' -}}
  {%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
  {%- if enable_thinking is defined and not enable_thinking -%}
    {{- '<|assistant|></think>' -}}
  {%- else -%}
    {{- '<|assistant|><think>' -}}
  {%- endif -%}
{%- endif -%}`;
