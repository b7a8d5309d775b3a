"""Training data: sources → prose and GLM-format chats (make_data), the chat renderer (render) and its check against
`glm5 template` (check_template), the synthetic tool catalog (tools)."""
