import { defineLessonSuite } from '../host/lesson-suite.ts';

await defineLessonSuite(0);
