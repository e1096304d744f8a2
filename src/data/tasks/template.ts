/**
 * The R1-Zero prompt template ([R1v1] Table 1, SPEC 5.2): a User/Assistant conversation in which the assistant
 * reasons inside `<think> </think>` and answers inside `<answer> </answer>`. The pre-training corpus writes worked
 * solutions after this prompt so that a base model trained on it continues `Assistant:` in the format RL rewards.
 */

/** The template; `{prompt}` is replaced by the question. */
export const R1_ZERO_TEMPLATE =
  'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant ' +
  'first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning ' +
  'process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., ' +
  '<think> reasoning process here </think> <answer> answer here </answer>. User: {prompt} Assistant:';

/** `template` with `{prompt}` replaced by `question` (default: the R1-Zero template). */
export function formatPrompt(question: string, template: string = R1_ZERO_TEMPLATE): string {
  if (!template.includes('{prompt}')) throw new Error('prompt template: missing {prompt}');
  return template.split('{prompt}').join(question);
}
