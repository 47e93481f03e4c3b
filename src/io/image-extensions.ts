// Pure (no node:path), so readers of image folders on disk and of image zips in memory agree.

/** File names (case-insensitive) that count as images; others (README, .DS_Store) are ignored. */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.gif'];

/** Whether a file name (any folders before it) ends in an image extension, any case. */
export function hasImageExtension(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(base.slice(dot).toLowerCase());
}
