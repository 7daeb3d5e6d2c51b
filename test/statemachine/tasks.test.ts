/**
 * The runner's task table (local/tasks.ts): it names exactly the Task states
 * of each definition, and its one loader binds a fake Lambda context per state.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRawDefinition } from '../../local/definition';
import { DEPROVISION_TASK_MODULES, localTaskHandlers, TASK_MODULES, type TaskModules } from '../../local/tasks';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function taskStates(file: string): string[] {
  const definition = readRawDefinition(join(ROOT, file));
  return Object.entries(definition.States)
    .filter(([, s]) => s.Type === 'Task')
    .map(([name]) => name)
    .sort();
}

describe('task table', () => {
  it.each([
    ['statemachine/provision.asl.json', TASK_MODULES],
    ['statemachine/deprovision.asl.json', DEPROVISION_TASK_MODULES],
  ] as const)('%s: one module per Task state, no more', (file, modules) => {
    expect(Object.keys(modules).sort()).toEqual(taskStates(file));
  });

  it('binds each handler to its state, counting invocations per state', async () => {
    const seen: unknown[] = [];
    const fake = async (input: unknown, context?: unknown): Promise<unknown> => {
      seen.push({ input, context });
      return { ok: input };
    };
    const modules: TaskModules = { First: async () => ({ handler: fake }), Second: async () => ({ handler: fake }) };
    const handlers = await localTaskHandlers(modules);

    expect(Object.keys(handlers)).toEqual(['First', 'Second']);
    await expect(handlers.First!({ n: 1 })).resolves.toEqual({ ok: { n: 1 } });
    await handlers.First!({ n: 2 });
    await handlers.Second!({ n: 3 });
    expect(seen).toEqual([
      { input: { n: 1 }, context: { awsRequestId: 'local-First-1', functionName: 'First' } },
      { input: { n: 2 }, context: { awsRequestId: 'local-First-2', functionName: 'First' } },
      { input: { n: 3 }, context: { awsRequestId: 'local-Second-1', functionName: 'Second' } },
    ]);
  });
});
