/** Docker-style random container names (`adjective_surname`), from a short list of scientists and engineers. */
const ADJECTIVES = ['admiring', 'bold', 'brave', 'clever', 'eager', 'focused', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'modest', 'nifty', 'quirky', 'serene', 'tender', 'vibrant', 'wizardly', 'zealous', 'upbeat'];
const SURNAMES = ['hopper', 'lovelace', 'turing', 'ritchie', 'thompson', 'torvalds', 'hamilton', 'liskov', 'knuth', 'dijkstra', 'curie', 'noether', 'shannon', 'babbage', 'goldberg', 'kare', 'wozniak', 'allen', 'bartik', 'perlman'];

export function randomName(taken: (name: string) => boolean): string {
  for (let attempt = 0; ; attempt++) {
    const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
    const name = `${pick(ADJECTIVES)}_${pick(SURNAMES)}${attempt > 20 ? attempt : ''}`;
    if (!taken(name)) return name;
  }
}

export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
