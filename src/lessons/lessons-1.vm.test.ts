import { defineLessonSuite } from './lesson-suite.ts';

await defineLessonSuite(0);
