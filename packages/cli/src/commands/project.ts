/**
 * `buildmesh project create|list`: projects on the controller. A project is also created by its
 * first build, and by setting its first secret or credentials; `create` makes one explicitly
 * (e.g. to hand out a project-scoped token before anything was built).
 */
import { action, command, group } from '../command-kit.js';
import { connect } from '../config.js';
import { renderTable } from '../output.js';
import { detectProjectName, resolveProjectDir } from '../project.js';

const create = action<{ json?: boolean }>(
  command('create', 'Create a project (also created by its first build, secret or credentials)', ['buildmesh project create my-app', 'buildmesh project create   # the name from app.json / package.json here'])
    .argument('[name]', 'project name (default: from app.json / package.json in the current directory)')
    .addHelpText('after', '\nJSON (--json): { id, name, createdAt }\n'),
  async ({ out, args }) => {
    const name = args[0] ?? (await detectProjectName(await resolveProjectDir('.')));
    const { client } = await connect();
    const project = await client.createProject(name);
    if (out.json) return out.printJson(project);
    out.info(`Created project ${project.name} (${project.id}).`);
  },
);

const list = action<{ json?: boolean }>(
  command('list', "List the org's projects", ['buildmesh project list', 'buildmesh project list --json']).addHelpText('after', '\nJSON (--json): { projects: [{ id, name, createdAt }] }\n'),
  async ({ out }) => {
    const { client } = await connect();
    const { projects } = await client.listProjects();
    if (out.json) return out.printJson({ projects });
    if (projects.length === 0) return out.info('No projects yet: a build, a secret or `buildmesh project create` makes one.');
    out.info(renderTable(projects, [
      { header: 'NAME', value: (p) => p.name },
      { header: 'ID', value: (p) => p.id },
    ], out.c));
  },
);

export const projectCommand = group('project', "The org's projects", ['buildmesh project create my-app', 'buildmesh project list'], [create, list]);
