/**
 * Where the real-world corpus is (../shared/realworld): FERRY_REALWORLD, else beside the project, as on the
 * machines that run it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const CANDIDATES = [
  process.env.FERRY_REALWORLD,
  join(process.cwd(), '../shared/realworld/files'),
  '/work/shared/realworld/files',
];

export const REALWORLD_DIR = CANDIDATES.find((dir): dir is string => dir !== undefined && existsSync(dir));
