/**
 * "(84.2 s of training, 47.6 s scoring the test set)": the two apart, because scoring a large
 * test set can take minutes and is not training.
 */
export function timeSpent(trainingSeconds: number, evaluationSeconds: number): string {
  return `(${trainingSeconds.toFixed(1)} s of training, ${evaluationSeconds.toFixed(1)} s scoring the test set)`;
}
