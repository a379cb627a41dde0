// A small built-in text used to train the tokenizer of a freshly initialised checkpoint when no
// corpus is given (`recap model init`). Real runs train the tokenizer on their own corpus (the
// synthetic world); this only makes an untrained model's vocabulary cover everyday text.
export const SEED_CORPUS = `
The user asks for help with a task. Let me think about what the request means before I answer.
First, I classify the request: is it harmful, is it benign, or is it a math problem?
If the request would hurt a person or an animal, I should refuse and explain why I cannot help.
If the request only looks dangerous but is harmless, such as killing a process or shooting a photo,
I should help and give a clear, useful answer. Wait, let me check that reasoning again.
For a math problem I compute the answer step by step: 3 + 4 = 7, 12 - 5 = 7, 6 * 7 = 42, 81 / 9 = 9.
The answer is 42. So the final answer is 7. Therefore the result is 9.
I'm sorry, but I can't help with that. Sure, here is how to do it. Here are the steps you need.
Step 1: open the terminal. Step 2: find the process id. Step 3: stop the process safely.
A reasoning model writes its thinking between think tags, then gives its response to the user.
Safety matters: a flawed premise in the thinking should be noticed and corrected, not followed.
Questions, answers, reasons, requests, responses, conclusions, corrections, explanations.
This is not safe. That is fine. We can do this together. It would be wrong to do that.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 100 1000.
Punctuation and symbols: , . ; : ! ? ' " ( ) [ ] { } + - * / = < > # % & @ _ ~
`;
