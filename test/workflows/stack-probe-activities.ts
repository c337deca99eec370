export interface StackProbeActivities {
  echo(input: { text: string }): Promise<string>;
}

export const stackProbeActivities: StackProbeActivities = {
  async echo({ text }) {
    return `echo: ${text}`;
  },
};
