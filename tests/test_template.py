from orchestrator.train.chat_template import load_template
from evals.template import render_chat, strip_generation_markers

TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}]


def test_tools_calls_and_results_render_exactly():
    msgs = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Oslo and Lyon?"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
                {"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Lyon"}'}}]},
            {"role": "tool", "content": "{\"t\": 3}"},
            {"role": "tool", "content": "{\"t\": 9}"},
            {"role": "assistant", "content": "3 and 9 degrees."}]
    text = render_chat(load_template("toolchat"), msgs, TOOLS)
    assert text == (
        "<|im_start|>system\nBe brief.\n\n"
        "You can call these tools. Each is described as a JSON function signature inside <tools></tools>:\n<tools>\n"
        '{"name": "get_weather", "description": "Weather.", "parameters": {"type": "object", "properties": '
        '{"city": {"type": "string"}}, "required": ["city"]}}\n</tools>\n\n'
        "To call a tool, answer with one block per call:\n<tool_call>\n"
        '{"name": <tool name>, "arguments": <JSON object>}\n</tool_call>\n'
        "If no tool is needed, answer in plain text.<|im_end|>\n"
        "<|im_start|>user\nWeather in Oslo and Lyon?<|im_end|>\n"
        "<|im_start|>assistant\n<tool_call>\n"
        '{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n<tool_call>\n'
        '{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call><|im_end|>\n'
        "<|im_start|>tool\n{\"t\": 3}<|im_end|>\n<|im_start|>tool\n{\"t\": 9}<|im_end|>\n"
        "<|im_start|>assistant\n3 and 9 degrees.<|im_end|>\n")


def test_no_tools_and_generation_prompt():
    text = render_chat(load_template("toolchat"), [{"role": "user", "content": "hi"}], None, add_generation_prompt=True)
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_non_ascii_is_not_escaped():
    text = render_chat(load_template("toolchat"), [{"role": "user", "content": "x"}],
                       [{"type": "function", "function": {"name": "f", "description": "Grüße <b>", "parameters": {}}}])
    assert '"Grüße <b>"' in text


def test_serving_template_has_no_generation_markers():
    training = load_template("toolchat")
    assert "{%- generation -%}" in training
    serving = strip_generation_markers(training)
    assert "{%- generation" not in serving and "endgeneration" not in serving
