import { expect, test, type Page } from '@playwright/test';

// A learner takes the first two lessons in the real app: reads a step, types the commands in the VM
// terminal, and sees the step's checks turn green from the engine's real state. Progress survives a reload.

test.setTimeout(240_000);

async function terminal(page: Page, command: string) {
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByTestId('terminal').click();
  await page.keyboard.type(command + '\n');
}

async function stepCompletes(page: Page) {
  await expect(page.getByTestId('step-complete')).toBeVisible({ timeout: 90_000 });
}

test('complete lessons 1 and 2 by typing in the terminal; progress is kept after a reload', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await page.getByTestId('lessons-button').click();
  await expect(page.getByTestId('lesson-title')).toHaveText('What is an image?', { timeout: 30_000 });

  // The lesson's own workspace is open (and saved, so the VM has it too).
  await expect(page.getByRole('button', { name: 'hello.txt', exact: true })).toBeVisible();
  await expect(page.getByTestId('save-state')).toHaveText('Saved');
  // Lesson 1, step 1 asks for a prediction first: the commands show once the learner has answered.
  await expect(page.getByTestId('predict-wait')).toBeVisible();
  await page.getByTestId('predict-choice-1').click();
  await expect(page.getByTestId('predict-result')).toContainText('Right.');
  await page.screenshot({ path: 'docs/screenshots/lesson-predict.png' });
  await expect(page.getByTestId('predict-wait')).toHaveCount(0);
  await expect(page.locator('.prose .cmd-block').first()).toContainText('docker build -t app .');
  // The build's check fails first (no image yet), then passes from the engine's state.
  await expect(page.getByTestId('check-0')).toHaveClass(/fail/, { timeout: 30_000 });
  await terminal(page, 'docker build -t app .');
  await stepCompletes(page);
  await page.getByTestId('next').click();
  // Step 2 wants the solution's Dockerfile: "Show solution" loads it into the workspace.
  await page.getByTestId('show-solution').click();
  await expect(page.getByTestId('save-state')).toHaveText('Saved');
  await terminal(page, 'docker build -t app .');
  await stepCompletes(page);
  await page.screenshot({ path: 'docs/screenshots/lesson-real.png' });

  // The challenge: a goal and a catch, no commands; hints come one at a time; any solution passes.
  await page.getByTestId('next').click();
  await expect(page.getByTestId('challenge-badge')).toBeVisible();
  await expect(page.locator('.prose .cmd-block')).toHaveCount(0);
  await expect(page.getByTestId('show-hint')).toHaveText('Hint 1 of 3');
  await page.getByTestId('show-hint').click();
  await expect(page.locator('.hints li')).toHaveCount(1);
  await expect(page.getByTestId('show-hint')).toHaveText('Hint 2 of 3');
  // A solution other than the hints' (a COPY): a RUN writes the file, and a shell-form CMD prints it.
  await terminal(page, `mkdir -p /tmp/q && cd /tmp/q && printf 'FROM busybox\\nRUN echo be kind > /quote.txt\\nCMD cat /quote.txt\\n' > Dockerfile && docker build -t quote . ; cd /workspace`);
  await stepCompletes(page);
  await page.screenshot({ path: 'docs/screenshots/lesson-challenge.png' });

  // Lesson 2.
  await page.getByTestId('next').click();
  await expect(page.getByTestId('lesson-title')).toHaveText(/From image to container/, { timeout: 30_000 });
  await expect(page.getByTestId('save-state')).toHaveText('Saved');
  await terminal(page, 'docker build -t app . && docker create --name box app');
  await stepCompletes(page);
  await page.getByTestId('next').click();
  await terminal(page, 'docker start box');
  await stepCompletes(page);
  await page.getByTestId('next').click();
  await terminal(page, 'docker run --name box2 app');
  await stepCompletes(page);

  // Reload: lesson 2 is still open, its finished steps still complete.
  await page.reload();
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await page.getByTestId('lessons-button').click();
  await expect(page.getByTestId('lesson-title')).toHaveText(/From image to container/, { timeout: 30_000 });
  await expect(page.getByTestId('step-dot-0')).toHaveText('✓');
});

test('going back to the start of a step restores the VM and the images as they were', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('status')).toHaveText('Ready', { timeout: 90_000 });
  await page.getByTestId('lessons-button').click();
  await expect(page.getByTestId('lesson-title')).toHaveText('What is an image?', { timeout: 30_000 });
  await expect(page.getByTestId('rewind-step')).toBeEnabled({ timeout: 30_000 });
  await terminal(page, 'docker build -t app . && touch /tmp/made-after-$((40+2))');
  await stepCompletes(page);
  // An edit after the step began: the editor keeps it, and the restored VM must see the same file.
  await page.locator('.monaco-editor .view-lines').click();
  await page.keyboard.press('Control+Home');
  await page.keyboard.type('# edited-after-start\n');
  await page.keyboard.press('Control+s');
  await expect(page.locator('.monaco-editor .view-lines')).toContainText('# edited-after-start');
  await expect(page.getByTestId('save-state')).toHaveText('Saved');
  await page.getByTestId('rewind-step').click();
  await expect(page.getByText(/Back at the start of this step/)).toBeVisible({ timeout: 60_000 });
  const rows = page.getByTestId('terminal').locator('.xterm-rows');
  await expect(page.locator('.monaco-editor .view-lines')).toContainText('# edited-after-start');
  // The shell shows a prompt without a keystroke from the learner.
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await expect
    .poll(async () => (await rows.locator(':scope > div').allInnerTexts()).map((l) => l.trimEnd()).filter(Boolean).pop(), { timeout: 30_000 })
    .toMatch(/# ?$/);
  await terminal(page, 'docker image inspect app >/dev/null 2>&1 || echo image-gone-$((40+2)); ls /tmp/made-after-42 2>/dev/null || echo file-gone-$((40+2)); grep -q edited-after-start Dockerfile && echo same-file-$((40+2))');
  await expect(rows).toContainText('image-gone-42', { timeout: 30_000 });
  await expect(rows).toContainText('file-gone-42');
  await expect(rows).toContainText('same-file-42');
});
